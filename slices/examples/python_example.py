"""A worked example: every Python site kind (see python_example.json for its slices)."""

from collections.abc import Iterable
from typing import Optional, TypeVar

from .models import User

T = TypeVar("T")
DEFAULT_LIMIT = 50


class Registry:
    limit: int = DEFAULT_LIMIT

    def __init__(self, name: str, users: Optional[list[User]] = None) -> None:
        self.name = name
        self.users: list[User] = users or []

    def add(self, user, *, notify=False) -> bool:
        if not isinstance(user, User):
            raise TypeError(user)
        self.users.append(user)
        return notify and user.email.endswith("@example.com")


def first(items: Iterable[T], default=None):
    for item in items:
        return item
    return default


def total_age(users):
    ages = [u.age for u in users]
    count, total = len(ages), sum(ages)
    return total / count if count else 0.0
