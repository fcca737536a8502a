// A worked example: every TypeScript site kind (see typescript_example.json for its slices).
import { EventEmitter } from "events";
import type { User } from "./models";

export interface Options {
  retries: number;
}

export class UserStore extends EventEmitter {
  private cache: Map<string, User> = new Map();
  limit = 10;

  constructor(private readonly baseUrl: string, options?: Options) {
    super();
  }

  async load(id: string, { force = false } = {}): Promise<User | undefined> {
    if (!force && this.cache.has(id)) {
      return this.cache.get(id);
    }
    const res = await fetch(`${this.baseUrl}/users/${id}`);
    const user = (await res.json()) as User;
    this.cache.set(id, user);
    return user;
  }
}

export const countBy = (items, key: string) => {
  const counts: Record<string, number> = {};
  for (const item of items) {
    counts[item[key]] = (counts[item[key]] ?? 0) + 1;
  }
  return counts;
};

export function names(users: User[], ...extra) {
  const [first, ...rest] = users;
  return [first.name, ...rest.map((u) => u.name), ...extra];
}
