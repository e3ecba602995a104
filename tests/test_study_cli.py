"""Every failure of a study script or of paper/build.py is the package's typed error, printed as
ONE line on stderr with exit code 2 (no traceback), and nothing is written (issue 11)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from connection.study import Study, run_cli

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ROOT / "studies"
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}
_MODULES: dict[str, object] = {}


def script(name: str):
    if name not in _MODULES:
        path = ROOT / "paper" / "build.py" if name == "build" else STUDIES / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"_cli_{name}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        _MODULES[name] = module
    return _MODULES[name]


def _config(tmp_path: Path, name: str, old: str | None = None, new: str = "",
            raw: bytes | None = None) -> str:
    path = tmp_path / f"{name}_edited.toml"
    if raw is not None:
        path.write_bytes(raw)
        return str(path)
    text = (STUDIES / f"{name}.toml").read_text()
    if old is not None:
        assert old in text, old
        text = text.replace(old, new, 1)
    path.write_text(text)
    if name == "power_social_moms":  # the population config it names, beside it
        (tmp_path / "social_moms.toml").write_text((STUDIES / "social_moms.toml").read_text())
    return str(path)


def _bad_bytes(tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(b"id,a\n\xff\xfe\xfa,1\n")
    return str(path)


def _data_inside_out(tmp_path: Path) -> list[str]:
    out = tmp_path / "out"
    out.mkdir()
    data = out / "responses.csv"
    data.write_text("respondent_id,x\n1,2\n")
    return ["--data", str(data), "--out", str(out)]


# (script, argv(tmp_path) -> list, error class, text in the message)
CASES = {
    "n_boot_negative": ("social_moms", lambda t: ["--n-boot", "-1"], "ArgumentError",
                        "--n-boot must be at least 0"),
    "n_zero": ("social_moms", lambda t: ["--n", "0"], "ArgumentError", "--n must be at least"),
    "seed_negative": ("social_moms", lambda t: ["--seed", "-5"], "ArgumentError",
                      "--seed must be at least 0"),
    "seed_not_a_number": ("social_moms", lambda t: ["--seed", "abc"], "ArgumentError",
                          "invalid int value: 'abc'"),
    "unknown_option": ("why_like", lambda t: ["--n-bot", "3"], "ArgumentError",
                       "unrecognized arguments: --n-bot"),
    "config_missing_file": ("social_moms", lambda t: ["--config", str(t / "nope.toml")],
                            "ConfigError", "config file not found"),
    "config_missing_seed": ("social_moms", lambda t: ["--config", _config(
        t, "social_moms", "seed = 20110504\n", "")], "ConfigError", "'study.seed' is missing"),
    "config_wrong_type": ("social_moms", lambda t: ["--config", _config(
        t, "social_moms", "n_boot = 1000", 'n_boot = "many"')], "ConfigError",
        "'study.n_boot' has the wrong type"),
    "config_bad_value": ("social_moms", lambda t: ["--config", _config(
        t, "social_moms", "equivalence_margin = 0.2", "equivalence_margin = -0.2")],
        "ConfigError", "'study.equivalence_margin' is out of range"),
    "config_undecodable": ("social_moms", lambda t: ["--config", _config(
        t, "social_moms", raw=b"[study]\nname = \"\xff\xfe\"\n")], "ConfigError",
        "not UTF-8"),
    "config_not_toml": ("why_like", lambda t: ["--config", _config(
        t, "why_like", raw=b"{\"json\": 1}")], "ConfigError", "not valid TOML"),
    "config_level_text": ("why_like", lambda t: ["--config", _config(
        t, "why_like", "level = 0.95", 'level = "95%"')], "ConfigError",
        "'study.level' has the wrong type"),
    "config_pairs_key": ("perception_gap", lambda t: ["--config", _config(
        t, "perception_gap", 'consumers = "pivot_cons_rewards"', "consumers = 7")],
        "ConfigError", "'e.consumers' has the wrong type"),
    "data_missing": ("social_moms", lambda t: ["--data", str(t / "nope.sav")], "DataError",
                     "the survey file does not exist"),
    "data_undecodable": ("why_like", lambda t: ["--data", _bad_bytes(t, "figs.csv")],
                         "UndecodableFileError", "not UTF-8"),
    "data_inside_out": ("social_moms", _data_inside_out, "ResultsFolderError",
                        "holds an input of this run"),
    "power_reps_zero": ("power_social_moms", lambda t: ["--reps", "0"], "ArgumentError",
                        "--reps must be at least 1"),
    "power_population_n_zero": ("power_social_moms", lambda t: ["--population-n", "0"],
                                "ArgumentError", "--population-n must be at least"),
    "power_config_category": ("power_social_moms", lambda t: ["--config", _config(
        t, "power_social_moms", 'category = "banking"', 'category = "cars"')], "ConfigError",
        "power.category is not a category"),
}


def _check_one_line(code: int, stderr: str, prog: str, cls: str, text: str):
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"{prog}: error: {cls}: "), lines[0]
    assert text in lines[0], lines[0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_study_failures_are_one_typed_line_and_exit_2(case, tmp_path, capsys):
    name, argv, cls, text = CASES[case]
    args = argv(tmp_path)
    if "--out" not in args:
        args += ["--out", str(tmp_path / "never")]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    code = run_cli(script(name).main, [*args, "--quiet"], prog=f"{name}.py")
    _check_one_line(code, capsys.readouterr().err, f"{name}.py", cls, text)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written


@pytest.mark.parametrize("name,argv,cls,text", [
    ("social_moms", ["--n-boot", "-1"], "ArgumentError", "--n-boot must be at least 0"),
    ("power_social_moms", ["--reps", "0"], "ArgumentError", "--reps must be at least 1"),
    ("why_like", ["--data", "no_such_file.csv"], "DataError", "does not exist"),
    ("perception_gap", ["--config", "no_such.toml"], "ConfigError", "config file not found"),
])
def test_each_script_reports_one_line_as_a_command(name, argv, cls, text, tmp_path):
    proc = subprocess.run([sys.executable, str(STUDIES / f"{name}.py"), *argv,
                           "--out", str(tmp_path / "out")], cwd=tmp_path, env=ENV,
                          capture_output=True, text=True, timeout=120)
    _check_one_line(proc.returncode, proc.stderr, f"{name}.py", cls, text)
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- paper/build.py
def _results(tmp_path: Path, *, flags=None, accept=None) -> Path:
    results = tmp_path / "results"
    study = Study("toy", results / "toy", seed=1, config={"a": 1}, verbose=False)
    study.table("t", pd.DataFrame({"x": [1.0]}))
    study.number("rel.omega", 0.81, flags=flags)
    study.number("n", 200)
    if accept:
        study.accept("rel", accept)
    study.finish()
    return results


def _source(tmp_path: Path, text="Omega was {{ toy:rel.omega | .2f }} (n = {{ toy:n }}).\n",
            name="m.md"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _paper(tmp_path, capsys, *args) -> tuple[int, str]:
    code = script("build").main([*args, "--no-pdf"])
    return code, capsys.readouterr().err


def _rewrite(results: Path, rel: str, content: bytes):
    """Replace an output and record its new hash: a run that wrote a broken file."""
    import hashlib

    (results / "toy" / rel).write_bytes(content)
    path = results / "toy" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["outputs"][rel] = hashlib.sha256(content).hexdigest()
    path.write_text(json.dumps(manifest))


def _break_numbers(results: Path):
    _rewrite(results, "numbers.json", b"{not json")


def _drop_outputs(results: Path):
    path = results / "toy" / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["outputs"]
    path.write_text(json.dumps(manifest))


def _undecodable_numbers(results: Path):
    _rewrite(results, "numbers.json", b"{\"n\": \xff}")


@pytest.mark.parametrize("damage,text", [
    (_break_numbers, "is not valid JSON"),
    (_drop_outputs, "has no 'outputs' mapping"),
    (_undecodable_numbers, "is not UTF-8 text"),
    (lambda r: (r / "toy" / "manifest.json").unlink(), "the run of toy did not finish"),
])
def test_paper_build_failures_are_one_line_and_exit_2(tmp_path, capsys, damage, text):
    results = _results(tmp_path)
    damage(results)
    code, err = _paper(tmp_path, capsys, "--results", str(results), "--out",
                       str(tmp_path / "build"), "--source", str(_source(tmp_path)))
    _check_one_line(code, err, "paper/build.py", "PaperBuildError", text)
    assert not (tmp_path / "build" / "paper.html").exists()


def test_paper_check_with_a_damaged_provenance_is_one_line_and_exit_2(tmp_path, capsys):
    results = _results(tmp_path)
    source = _source(tmp_path)
    args = ["--results", str(results), "--out", str(tmp_path / "build"), "--source", str(source)]
    code, _ = _paper(tmp_path, capsys, *args)
    assert code == 0
    prov_path = tmp_path / "build" / "provenance.json"
    prov = json.loads(prov_path.read_text())
    del prov["files"]
    prov_path.write_text(json.dumps(prov))
    code, err = _paper(tmp_path, capsys, *args, "--check")
    _check_one_line(code, err, "paper/build.py", "PaperBuildError", "lacks 'files'")
    prov_path.write_text("[1, 2")
    code, err = _paper(tmp_path, capsys, *args, "--check")
    _check_one_line(code, err, "paper/build.py", "PaperBuildError", "is not valid JSON")
    code, err = _paper(tmp_path, capsys, "--lint", "--source", str(tmp_path / "gone.md"))
    _check_one_line(code, err, "paper/build.py", "PaperBuildError", "gone.md")


def test_paper_build_refuses_a_flagged_number_until_the_study_accepts_it(tmp_path, capsys):
    pb = script("build")
    flag = "heywood: negative variance estimate: x1 ~~ x1 = -0.3"
    results = _results(tmp_path, flags=flag)
    source = _source(tmp_path)
    with pytest.raises(pb.PaperBuildError) as info:
        pb.build(results, tmp_path / "build", source, pdf=False, verbose=False)
    message = str(info.value)
    assert "toy:rel.omega" in message and flag in message
    assert "study.accept('rel.omega'" in message
    assert not (tmp_path / "build" / "paper.html").exists()
    code, err = _paper(tmp_path, capsys, "--results", str(results), "--out",
                       str(tmp_path / "build"), "--source", str(source))
    _check_one_line(code, err, "paper/build.py", "PaperBuildError", "toy:rel.omega")
    # an unflagged number of the same study is cited as before
    built = pb.build(results, tmp_path / "build2", _source(tmp_path, "n = {{ toy:n }}.\n", "n.md"),
                     pdf=False, verbose=False)
    assert json.loads(built.provenance.read_text())["flagged_numbers"] == {}
    # accepted with a reason: cited, and the reason is in the provenance
    results = _results(tmp_path / "accepted", flags=flag, accept="inspected: x1 is a "
                       "near-constant item; the estimate is within sampling error of 0")
    built = pb.build(results, tmp_path / "build3", source, pdf=False, verbose=False)
    assert "Omega was 0.81" in built.html.read_text()
    prov = json.loads(built.provenance.read_text())
    assert prov["flagged_numbers"] == {"toy:rel.omega": {
        "flags": flag,
        "accepted": "inspected: x1 is a near-constant item; the estimate is within sampling "
                    "error of 0"}}


def test_paper_build_reports_one_line_as_a_command(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "paper" / "build.py"), "--results",
                           str(tmp_path / "nowhere"), "--out", str(tmp_path / "b"), "--no-pdf"],
                          cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=120)
    _check_one_line(proc.returncode, proc.stderr, "paper/build.py", "PaperBuildError",
                    "does not exist")


def test_paper_table_block_refuses_flagged_rows_unless_accepted(tmp_path):
    """A table block showing a row whose ``flags`` cell is set is refused (the inline check
    alone let a flagged omega of 265.99 into the paper through a table); it builds once the rows
    are filtered out or the block says why they may be shown."""
    pb = script("build")
    results = tmp_path / "results"
    study = Study("toy", results / "toy", seed=1, config={"a": 1}, verbose=False)
    study.table("rel", pd.DataFrame({"construct": ["a", "b"], "omega": [265.99, 0.81],
                                     "flags": ["heywood: negative variance estimate: x1 ~~ x1",
                                               ""]}))
    study.finish()
    block = '::: table toy:rel {#tab-rel columns="construct:C,omega:Omega"%s}\nRel.\n:::\n'
    with pytest.raises(pb.PaperBuildError, match=r"1 row\(s\) from a doubtful solution.*heywood"):
        pb.build(results, tmp_path / "b1", _source(tmp_path, block % ""), pdf=False,
                 verbose=False)
    built = pb.build(results, tmp_path / "b2",
                     _source(tmp_path, block % ' where="flags != flags"', "m2.md"),
                     pdf=False, verbose=False)
    html = built.html.read_text()
    assert "0.81" in html and "266" not in html
    built = pb.build(results, tmp_path / "b3",
                     _source(tmp_path, block % ' accept_flags="inspected"', "m3.md"),
                     pdf=False, verbose=False)
    assert "266" in built.html.read_text()


@pytest.mark.parametrize("argv,text", [
    (["--no-such-option"], "unrecognized arguments: --no-such-option (see --help)"),
    (["--pdf", "--no-pdf"], "argument --no-pdf: not allowed with argument --pdf"),
    (["--results"], "argument --results: expected one argument"),
])
def test_paper_build_usage_errors_are_one_line_and_exit_2(tmp_path, capsys, argv, text):
    """paper/build.py parses with connection.study.ArgumentParser (it had its own copy): a usage
    error is an ArgumentError, printed as one line with exit 2, nothing built."""
    import argparse

    import connection.study

    pb = script("build")
    own = [name for name, obj in vars(pb).items() if isinstance(obj, type)
           and issubclass(obj, argparse.ArgumentParser)
           and obj is not connection.study.ArgumentParser]
    assert own == [], f"paper/build.py defines its own parser class(es): {own}"
    code = pb.main([*argv, "--out", str(tmp_path / "build")] if argv != ["--results"] else argv)
    _check_one_line(code, capsys.readouterr().err, "paper/build.py", "ArgumentError", text)
    assert not (tmp_path / "build").exists()


def test_paper_build_usage_error_as_a_command(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "paper" / "build.py"), "--no-such-option"],
                          cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=120)
    _check_one_line(proc.returncode, proc.stderr, "paper/build.py", "ArgumentError",
                    "unrecognized arguments: --no-such-option")


@pytest.mark.parametrize("option,text", [
    ("head=x", "head='x' is not a number of rows"),
    ("sort=zzz", "sort='zzz'"),
])
def test_paper_build_bad_table_options_are_one_line_and_exit_2(tmp_path, capsys, option, text):
    results = _results(tmp_path)
    source = _source(tmp_path, f"::: table toy:t {{#tab-t {option}}}\nT.\n:::\n")
    code, err = _paper(tmp_path, capsys, "--results", str(results), "--out",
                       str(tmp_path / "build"), "--source", str(source))
    _check_one_line(code, err, "paper/build.py", "PaperBuildError", text)
    assert "m.md line 1: table toy:t" in err
    assert not (tmp_path / "build" / "paper.html").exists()


def test_paper_check_without_source_sha256_is_one_line_and_exit_2(tmp_path, capsys):
    results = _results(tmp_path)
    args = ["--results", str(results), "--out", str(tmp_path / "build"), "--source",
            str(_source(tmp_path))]
    assert _paper(tmp_path, capsys, *args)[0] == 0
    prov_path = tmp_path / "build" / "provenance.json"
    prov = json.loads(prov_path.read_text())
    del prov["source"]["sha256"]
    prov_path.write_text(json.dumps(prov))
    code, err = _paper(tmp_path, capsys, *args, "--check")
    _check_one_line(code, err, "paper/build.py", "PaperBuildError", "lacks 'source.sha256'")


def test_paper_build_refuses_an_alias_bomb_in_one_line(tmp_path, capsys):
    results = _results(tmp_path)
    # a small one (9**4 strings): the title is expanded (str) as soon as the build reads it
    bomb = "".join(f"{n}: &{n} [" + ",".join([f"*{p}"] * 9) + "]\n"
                   for p, n in zip("abc", "bcd", strict=True))
    source = _source(tmp_path, '---\na: &a ["lol","lol","lol","lol","lol","lol","lol","lol",'
                               '"lol"]\n' + bomb + "title: *d\n---\nn = {{ toy:n }}.\n")
    code, err = _paper(tmp_path, capsys, "--results", str(results), "--out",
                       str(tmp_path / "build"), "--source", str(source))
    _check_one_line(code, err, "paper/build.py", "PaperBuildError", "YAML anchor (&a) on line 2")
    assert not (tmp_path / "build" / "paper.html").exists()


# ------------------------------------------------------- the shared command line (issue 13)
def test_study_parser_has_the_shared_options_and_checks_the_seed(tmp_path):
    from connection.errors import ArgumentError
    from connection.study import parse_study_args, study_parser

    parser = study_parser("demo.py", "A demo.", config="demo.toml", out="results/demo",
                          seed=True, data="a survey file")
    parser.add_argument("--n-boot", type=int, default=None)
    args = parse_study_args(parser, ["--data", "./x.csv", "--out", str(tmp_path), "--quiet"],
                            minimums={"--n-boot": 0})
    assert args.data == "./x.csv"            # as typed: recorded so in the manifest
    assert args.out == tmp_path and args.quiet and args.seed is None
    assert str(args.config) == "demo.toml"
    with pytest.raises(ArgumentError, match="--seed must be at least 0"):
        parse_study_args(parser, ["--seed", "-2"])
    with pytest.raises(ArgumentError, match="--n-boot must be at least 0"):
        parse_study_args(parser, ["--n-boot", "-1"], minimums={"--n-boot": 0})
    with pytest.raises(ArgumentError, match="unrecognized arguments: --reps"):
        parse_study_args(parser, ["--reps", "3"])
    assert parse_study_args(parser, ["--reps", "3"], ignore_unknown=True).seed is None
    bare = study_parser("demo.py", "A demo.", config="demo.toml", out="results/demo")
    with pytest.raises(ArgumentError, match="unrecognized arguments: --seed"):
        parse_study_args(bare, ["--seed", "1"])


@pytest.mark.parametrize("name,has_seed,has_data", [
    ("social_moms", True, True), ("power_social_moms", True, False),
    ("why_like", False, True), ("perception_gap", False, True)])
def test_every_study_script_uses_the_shared_command_line(name, has_seed, has_data, capsys):
    """--config, --out and --quiet (and --seed, --data where the study has them) come from
    connection.study.study_parser: the same options with the same help in every script."""
    with pytest.raises(SystemExit) as info:
        script(name).main(["--help"])
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "study config (default:" in text and "results folder (default:" in text
    assert "--quiet no progress lines" in text
    assert ("seed, a whole number >= 0 (default: the config's)" in text) == has_seed
    assert ("--data DATA" in text) == has_data
