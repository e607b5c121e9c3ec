"""The Python keywords are the library's settings: same names, same
defaults, same choices, in the runtime signature and in the typed stub."""

import ast
import inspect
import pathlib
import typing

import pytest

import multiscale_lime as ml

STUB = pathlib.Path(ml.__file__).with_name("_core.pyi")
# Keywords Python adds to the library's settings: where to start, and
# the segmenter as an object (with SLIC's pre-smoothing).
PYTHON_ONLY = ["preset", "segmenter", "sigma"]


def stub_tree():
    return ast.parse(STUB.read_text())


def stub_init():
    for node in ast.walk(stub_tree()):
        if isinstance(node, ast.ClassDef) and node.name == "MultiScaleLime":
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    return item
    raise AssertionError("no MultiScaleLime.__init__ in the stub")


def stub_aliases():
    """Type alias name → the string literals of its Literal[...] members."""
    aliases = {}
    for node in stub_tree().body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            literals = [
                n.value
                for n in ast.walk(node.value)
                if isinstance(n, ast.Constant) and isinstance(n.value, str)
            ]
            aliases[node.targets[0].id] = literals
    return aliases


def library_names():
    return [row["name"] for row in ml.SETTINGS]


def test_the_signature_is_the_library_settings():
    parameters = inspect.signature(ml.MultiScaleLime).parameters
    names = list(parameters)
    assert names[0] == "levels"
    assert names[1:4] == PYTHON_ONLY
    assert names[4:] == [n for n in library_names() if n != "levels"]
    assert parameters["preset"].default == "recommended"
    for name in library_names():
        assert parameters[name].default is None, name  # the preset's value


def test_the_stub_has_the_same_keywords_and_defaults():
    init = stub_init()
    args = [a.arg for a in init.args.args[1:]] + [a.arg for a in init.args.kwonlyargs]
    assert args == list(inspect.signature(ml.MultiScaleLime).parameters)
    defaults = dict(zip([a.arg for a in init.args.kwonlyargs], init.args.kw_defaults))
    assert defaults["preset"].value == "recommended"
    for name in library_names():
        if name != "levels":
            assert defaults[name].value is None, name


@pytest.mark.parametrize(
    "name, alias",
    [
        ("sampling", "SamplingName"),
        ("response", "ResponseName"),
        ("normalization", "NormalizationName"),
        ("hide_color", "HideColorName"),
    ],
)
def test_stub_choices_are_the_library_choices(name, alias):
    row = next(r for r in ml.SETTINGS if r["name"] == name)
    assert stub_aliases()[alias] == row["choices"]


def test_stub_names_the_rules_that_take_no_parameter():
    aliases = stub_aliases()
    fusion = next(r for r in ml.SETTINGS if r["name"] == "fusion")["choices"]
    # `weights` always takes them: a sequence in Python.
    assert aliases["FusionName"] == [c for c in fusion if c != "weights"]
    schedule = next(r for r in ml.SETTINGS if r["name"] == "schedule")["choices"]
    assert aliases["ScheduleLike"] == [c for c in schedule if not c.startswith("until-")]
    assert aliases["PresetName"] == ["recommended", "paper"]


@pytest.mark.parametrize("preset", ["recommended", "paper"])
def test_an_explainer_holds_the_presets_values(preset):
    lime = ml.MultiScaleLime(preset=preset)
    expected = {r["name"]: r["presets"][preset] for r in ml.SETTINGS if r["presets"][preset] is not None}
    assert dict(lime.settings) == expected
    assert lime.preset == preset
    default = ml.MultiScaleLime()
    assert default.preset == "recommended"


def test_a_setting_given_overrides_the_preset_and_reads_back():
    lime = ml.MultiScaleLime(preset="paper", fusion=("gaussian", 0.5, 0.25), hide_color=("blur", 3.0),
                             schedule="until-top-k:3", batch_size=7)
    settings = dict(lime.settings)
    assert settings["fusion"] == "gaussian:0.5,0.25"
    assert settings["hide_color"] == "blur:3"
    assert settings["schedule"] == "until-top-k:3,start=2,step=1"
    assert settings["batch_size"] == "7"
    assert settings["compactness"] == "5"  # the paper's, untouched
    assert eval(repr(lime), {"MultiScaleLime": ml.MultiScaleLime}).settings == lime.settings


def test_literal_aliases_are_real_literals():
    # The stub is importable as Python: its aliases evaluate to Literal types.
    namespace = {}
    exec(compile(STUB.read_text(), str(STUB), "exec"), namespace)
    assert typing.get_args(namespace["ResponseName"]) == ("auto", "score", "log-odds")


def test_explain_takes_the_same_keywords_as_the_explainer():
    one_call = inspect.signature(ml.explain).parameters
    explainer = inspect.signature(ml.MultiScaleLime).parameters
    assert list(one_call)[:4] == ["image", "predict", "target", "top_labels"]
    assert list(one_call)[4:] == list(explainer)
    for name in explainer:
        assert one_call[name].default == explainer[name].default, name


def test_repr_makes_the_explainer_again():
    for lime in (
        ml.MultiScaleLime(levels=(25,), sigma=1.0),
        ml.MultiScaleLime(levels=(4, 16), segmenter="grid", fusion=[1.0, 2.0]),
    ):
        again = eval(repr(lime), {"MultiScaleLime": ml.MultiScaleLime})
        assert again.settings == lime.settings and repr(again) == repr(lime)
    assert "levels=(25,)" in repr(ml.MultiScaleLime(levels=(25,)))
    assert "sigma=1.0" in repr(ml.MultiScaleLime(sigma=1.0))


def docs_settings_table():
    """docs/python.md's settings table: setting name → (default, paper's)
    as the page writes them, one entry per name of a row."""
    page = pathlib.Path(__file__).resolve().parents[2] / "docs" / "python.md"
    lines = page.read_text().splitlines()
    start = lines.index(
        "| setting | default (`\"recommended\"`) | the paper's (`preset=\"paper\"`) | meaning |"
    )
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        names = [n.strip("` ") for n in cells[0].replace(" / ", ", ").split(", ")]
        split = lambda cell: [v.strip() for v in cell.replace(" / ", "`, `").split("`, `")]
        defaults = split(cells[1])
        papers = defaults if cells[2] == "same" else split(cells[2])
        assert len(defaults) == len(names) == len(papers), line
        rows.update(zip(names, zip(defaults, papers)))
    return rows


def text_form(written):
    """The page's `(10, 25, 50)` / `"density"` / `16777216` / `—` as the
    library's text form ("10,25,50", "density", …; None for no value)."""
    value = written.strip("`").split(" (")[0].strip("`")
    if value in ("—", ""):
        return None
    return value.strip("()").replace(" ", "").strip('"')


def test_the_python_page_shows_every_setting_with_its_preset_values():
    """docs/python.md's table of settings is the library's: every setting,
    each preset's value (a changed default fails here until the page
    says it)."""
    table = docs_settings_table()
    for row in ml.SETTINGS:
        assert row["name"] in table, f"docs/python.md has no row for {row['name']}"
        default, paper = table[row["name"]]
        assert text_form(default) == row["presets"]["recommended"], (row["name"], default)
        assert text_form(paper) == row["presets"]["paper"], (row["name"], paper)
    assert set(table) - set(library_names()) == set(PYTHON_ONLY)
