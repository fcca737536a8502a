"""typeinf.lsp.options: the server's settings from initializationOptions, without a server."""

import pytest

from typeinf.lsp.options import InlayHintOptions, ServerOptions, parse_options


def test_defaults():
    for raw in (None, {}, {"typeinf": {}}):
        opts, problem = parse_options(raw)
        assert opts == ServerOptions() and problem is None
    assert ServerOptions().inlay_hints == InlayHintOptions(True, True, True)
    assert ServerOptions().min_confidence is None and ServerOptions().max_hints == 500


@pytest.mark.parametrize(
    "raw",
    [
        {
            "typeinf": {
                "inlayHints": {"parameters": False, "variables": False},
                "minConfidence": 0.5,
                "maxHints": 7,
            }
        },
        {"inlayHints": {"parameters": False, "variables": False}, "minConfidence": 0.5, "maxHints": 7},
        {
            "typeinf.inlayHints.parameters": False,
            "typeinf.inlayHints.variables": False,
            "typeinf.minConfidence": 0.5,
            "typeinf.maxHints": 7,
        },
        {"inlayHints.parameters": False, "inlayHints.variables": False, "minConfidence": 0.5, "maxHints": 7},
    ],
)
def test_nested_or_dotted(raw):
    opts, problem = parse_options(raw)
    assert problem is None
    assert opts.inlay_hints == InlayHintOptions(parameters=False, returns=True, variables=False)
    assert opts.min_confidence == 0.5 and opts.max_hints == 7


def test_the_checker_can_be_turned_off():
    assert parse_options({"typeinf": {"checker": False}}) == (ServerOptions(checker=False), None)
    assert ServerOptions().checker


def test_min_confidence_bounds_and_null():
    assert parse_options({"minConfidence": 0})[0].min_confidence == 0.0
    assert parse_options({"minConfidence": 1})[0].min_confidence == 1.0
    assert isinstance(parse_options({"minConfidence": 1})[0].min_confidence, float)
    opts, problem = parse_options({"minConfidence": None})  # null: the model's threshold
    assert opts.min_confidence is None and problem is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"inlayHints": {"returns": "no"}}, "inlayHints.returns must be true or false"),
        ({"inlayHints": {"parameters": 0}}, "inlayHints.parameters must be true or false"),
        ({"minConfidence": 2}, "minConfidence must be a number between 0 and 1"),
        ({"minConfidence": -0.5}, "minConfidence must be a number between 0 and 1"),
        ({"minConfidence": True}, "minConfidence must be a number between 0 and 1"),
        ({"minConfidence": "0.5"}, "minConfidence must be a number between 0 and 1"),
        ({"maxHints": 0}, "maxHints must be a positive integer"),
        ({"maxHints": 2.5}, "maxHints must be a positive integer"),
        ({"maxHints": True}, "maxHints must be a positive integer"),
        ({"checker": "off"}, "checker must be true or false"),
        ({"colour": "red"}, "unknown setting colour"),
        ({"typeinf": {"inlayHints": {"fields": True}}}, "unknown setting inlayHints.fields"),
    ],
)
def test_a_bad_value_falls_back_to_its_default_and_is_named(raw, message):
    opts, problem = parse_options(raw)
    assert opts == ServerOptions()
    assert problem is not None and message in problem and problem.startswith("typeinf: ")
    assert problem.endswith("(defaults used for those)")


def test_good_values_kept_beside_bad_ones_all_problems_reported():
    opts, problem = parse_options(
        {"maxHints": 3, "minConfidence": 9, "inlayHints": {"returns": 1, "variables": False}}
    )
    assert opts.max_hints == 3 and opts.min_confidence is None
    assert opts.inlay_hints == InlayHintOptions(parameters=True, returns=True, variables=False)
    assert problem == (
        "typeinf: minConfidence must be a number between 0 and 1; inlayHints.returns must be true or false"
        " (defaults used for those)"
    )


@pytest.mark.parametrize("raw", [[], "typeinf", 3, True])
def test_settings_not_an_object(raw):
    opts, problem = parse_options(raw)
    assert opts == ServerOptions()
    assert problem == "typeinf: settings must be an object; using the defaults"
