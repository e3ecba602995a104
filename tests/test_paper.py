"""The paper build: numbers, tables and figures come from results/, and staleness is detected.

These tests build small manuscripts against a small results folder written by the real Study
runner into tmp_path (never the gitignored results/ of the working tree).
"""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connection.study import Study

ROOT = Path(__file__).resolve().parents[1]


def _load_build():
    spec = importlib.util.spec_from_file_location("paper_build", ROOT / "paper" / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["paper_build"] = module
    spec.loader.exec_module(module)
    return module


pb = _load_build()


def write_study(results: Path, *, mean=51.234, share=0.5432, p=0.0004, seed=7, name="toy"):
    """A tiny study folder: one table, one figure, a few numbers, a manifest."""
    from connection import plots

    study = Study(name, results / name, seed=seed, config={"mean": mean}, verbose=False)
    study.table("calibration", pd.DataFrame({
        "group": ["social_media_moms", "other_moms"],
        "item": ["belong", "belong"],
        "published": [37.0, 16.0],
        "sample": [36.81, 16.42],
    }))
    study.number("index.mean", mean)
    study.number("share.connected", share)
    study.number("test.p", p)
    study.number("test.holds", True)
    study.number("n", 20000)
    fig, ax = plots.new_figure()
    ax.plot(np.arange(5), np.arange(5) ** 2)
    study.figure("curve", fig)
    study.finish()
    return results / name


MANUSCRIPT = """---
title: "A toy paper"
authors: ["A. Author"]
abstract: "The index averaged {{ toy:index.mean | .1f }}."
labels:
  social_media_moms: Social-media moms
  other_moms: Other moms
---

## Results

Of {{ toy:n }} respondents, {{ toy:share.connected | pct1 }} were connected
({{ toy:test.p | p }}); equivalence {{ toy:test.holds | yesno:holds,fails }}.
See @fig-curve and @tab-cal. The seed was {{ manifest toy:seed }}.

::: figure toy:curve {#fig-curve width=column}
A curve; mean {{ toy:index.mean | .2f }}.
:::

::: table toy:calibration {#tab-cal columns="group:Group,item:Item,published:Published (%),sample:Sample (%)" format=".1f"}
Published and reproduced percentages.
:::
"""


@pytest.fixture
def toy(tmp_path):
    results = tmp_path / "results"
    write_study(results)
    source = tmp_path / "manuscript.md"
    source.write_text(MANUSCRIPT)
    return results, source, tmp_path / "build"


def test_build_inserts_numbers_figures_and_tables(toy):
    results, source, out = toy
    built = pb.build(results, out, source, pdf=False, verbose=False)
    page = built.html.read_text()
    assert "The index averaged 51.2." in page
    assert "Of 20,000 respondents, 54.3% were connected" in page
    assert "(p &lt; 0.001)" in page or "(p < 0.001)" in page
    assert "equivalence holds" in page
    # cross-references are numbered and link to their figure or table
    assert 'See <a href="#fig-curve">Figure 1</a> and <a href="#tab-cal">Table 1</a>.' in page
    assert 'id="fig-curve"' in page and 'id="tab-cal"' in page
    assert "The seed was 7." in page
    assert "mean 51.23." in page
    # labels from the front matter relabel table cells; floats use the table's format
    assert "<td>Social-media moms</td>" in page and '<td class="num">36.8</td>' in page
    # the figure is embedded (self-contained page), byte for byte the study's PNG
    png = (results / "toy" / "figures" / "curve.png").read_bytes()
    import base64

    assert base64.b64encode(png).decode() in page
    assert "http://" not in page and "https://" not in page  # nothing fetched from the network
    assert "{{" not in page and "??" not in page


def test_provenance_records_every_input_and_check_passes(toy):
    results, source, out = toy
    built = pb.build(results, out, source, pdf=False, verbose=False)
    prov = json.loads(built.provenance.read_text())
    from connection._io import sha256_file

    for rel in ["toy/numbers.json", "toy/figures/curve.png", "toy/figures/curve.pdf",
                "toy/tables/calibration.csv"]:
        assert prov["files"][rel] == sha256_file(results / rel)
    assert prov["numbers"]["toy:index.mean"] == 51.234
    assert prov["numbers"]["toy:share.connected"] == 0.5432
    assert prov["manifest_values"]["toy:seed"] == 7
    assert pb.check(out, results, source) == []


def test_title_block_gives_date_version_commit_and_licence(toy, monkeypatch):
    import connection

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14 UTC
    results, source, out = toy
    manifest = json.loads((results / "toy" / "manifest.json").read_text())
    commit = ((manifest.get("git") or {}).get("commit") or "")[:10]
    built = pb.build(results, out, source, pdf=False, verbose=False)
    page, md = built.html.read_text(), built.markdown.read_text()
    line = (f"2023-11-14 · connection {connection.__version__} · commit "
            f"{commit or 'unknown (no study manifest records one)'}")
    assert line in page and line in md
    assert "licence BSD-3-Clause" in page  # pyproject.toml's project.license
    assert md.splitlines()[:4][-1].startswith("date: ") or "\ndate: " in md.split("---")[1]
    prov = json.loads(built.provenance.read_text())
    assert prov["title_block"]["date"] == "2023-11-14"
    assert prov["title_block"]["licence"] == "BSD-3-Clause"
    # the front matter may name another licence
    source.write_text(source.read_text().replace('title: "A toy paper"',
                                                 'title: "A toy paper"\nlicense: CC-BY-4.0'))
    assert "licence CC-BY-4.0" in pb.build(results, out, source, pdf=False,
                                           verbose=False).html.read_text()


def test_pdf_markdown_numbers_and_links_figures_and_tables(toy):
    results, source, out = toy
    md = pb.build(results, out, source, pdf=False, verbose=False).markdown.read_text()
    # pandoc: an image alone in its paragraph is a numbered figure; its id is the link target
    assert re.search(r"^!\[A curve; mean 51\.23\.\]\(figures/toy-curve\.pdf\)\{#fig-curve\}$", md,
                     re.M)
    # a table caption (": ..."), with a hyperlink target in front of the table
    assert "`\\hypertarget{tab-cal}{}`{=latex}" in md
    assert re.search(r"^: Published and reproduced percentages\.$", md, re.M)
    assert "See [Figure 1](#fig-curve) and [Table 1](#tab-cal)." in md


def test_reference_list_links_each_entry_to_its_doi_or_url(toy):
    results, source, out = toy
    (source.parent / "refs.yaml").write_text(
        "smith2001:\n  cite: Smith\n  year: 2001\n  text: Smith, A. (2001). A book.\n"
        "  doi: 10.1000/xyz123\n"
        "jones2002:\n  cite: Jones\n  year: 2002\n  text: Jones, B. (2002). A page.\n"
        "  url: https://example.org/page\n"
        "lee2003:\n  cite: Lee\n  year: 2003\n  text: Lee, C. (2003). A letter.\n")
    text = MANUSCRIPT.replace("---\n\n## Results", "bibliography: refs.yaml\n---\n\n## Results")
    source.write_text(text + "\nAs [@smith2001; @jones2002; @lee2003].\n")
    built = pb.build(results, out, source, pdf=False, verbose=False)
    page, md = built.html.read_text(), built.markdown.read_text()
    assert '<a href="https://doi.org/10.1000/xyz123">https://doi.org/10.1000/xyz123</a>' in page
    assert '<a href="https://example.org/page">https://example.org/page</a>' in page
    assert "Smith, A. (2001). A book. <https://doi.org/10.1000/xyz123>" in md
    assert "Lee, C. (2003). A letter.\n" in md  # no address: no link
    for bad, message in [("  doi: https://doi.org/10.1000/x\n", "is not a DOI"),
                         ("  url: www.example.org\n", "is not an http")]:
        (source.parent / "refs.yaml").write_text(
            "smith2001:\n  cite: Smith\n  year: 2001\n  text: Smith (2001).\n" + bad)
        with pytest.raises(pb.PaperBuildError, match=message):
            pb.load_bibliography(source.parent / "refs.yaml")


def test_every_reference_of_the_paper_has_a_doi_or_url_or_says_why_not():
    bib = pb.load_bibliography(ROOT / "paper" / "references.yaml")
    assert bib
    assert [k for k, e in bib.items() if not (e["doi"] or e["url"] or e["no_address"])] == []
    # the sources the context studies and the eReader statements rest on are in it (issue 17)
    assert {"zorfas2011", "pivot2012", "nielsen2011", "cmo2011", "ibm2011"} <= set(bib)
    assert "social networking sites" in bib["nielsen2011"]["text"]  # not "on Facebook"


def test_the_paper_prints_seeds_without_thousands_separators():
    """A seed is an identifier, not a quantity: "20,110,504" read as a count (issue 17). Every
    seed placeholder of the manuscript carries the ``d`` format, which prints the digits alone."""
    text = (ROOT / "paper" / "manuscript.md").read_text()
    seeds = re.findall(r"\{\{\s*manifest\s+[\w]+:seed\s*(\|[^}]*)?\}\}", text)
    assert seeds, "the manuscript names the study's seed"
    assert all(fmt.strip("| ").strip() == "d" for fmt in seeds), seeds
    assert pb.format_value(20110504, "d") == "20110504"
    assert pb.format_value(20110504) == "20,110,504"  # the default would group the digits


def test_the_manuscript_reports_what_the_referee_asked_for():
    """Issue 17: each referee point has its number in the manuscript, from the study outputs."""
    text = (ROOT / "paper" / "manuscript.md").read_text()
    for key in ("social_moms:identification.probit_gap", "social_moms:identification.gap.l055",
                "social_moms:compare.outside_index.all.median",
                "social_moms:compare.equivalence.all.satisfaction.p_difference",
                "social_moms:small_n.equivalent", "power_social_moms:n80.equivalence",
                "power_social_moms:n80.contrast", "power_social_moms:check_at_n80.contrast.power",
                "table social_moms:assumptions", "social_moms:ordinal.summary.wlsmv",
                "social_moms:weighting.agree_ec_belong", "social_moms:predictive.advocacy"):
        assert key in text, key
    # the circular risk ratios appear only labelled as such
    assert "compare.risk_ratio.all.ec_" not in text
    assert "circular" in text


@pytest.mark.skipif(pb._pdf_tools() is None, reason="pandoc and a TeX engine are not installed")
def test_the_pdf_builds_when_pandoc_and_tex_are_installed(toy):
    results, source, out = toy
    built = pb.build(results, out, source, pdf=True, verbose=False)
    assert built.pdf is not None and built.pdf.read_bytes()[:5] == b"%PDF-"
    tex = subprocess.run(["pandoc", built.markdown.name, "-t", "latex", "-s"],
                         cwd=built.markdown.parent, capture_output=True, text=True, check=True).stdout
    assert "\\label{fig-curve}" in tex and "\\hyperlink{fig-curve}{Figure 1}" in tex
    assert "\\hypertarget{tab-cal}{}" in tex and "\\hyperlink{tab-cal}{Table 1}" in tex
    assert "\\date{" in tex and "connection " in tex


def test_rebuild_is_byte_identical(toy):
    results, source, out = toy
    first = pb.build(results, out, source, pdf=False, verbose=False).html.read_bytes()
    second = pb.build(results, out.with_name("again"), source, pdf=False, verbose=False)
    assert second.html.read_bytes() == first


def test_check_reports_a_changed_number(toy):
    results, source, out = toy
    pb.build(results, out, source, pdf=False, verbose=False)
    write_study(results, mean=60.0)  # the study is rerun with another result
    problems = pb.check(out, results, source)
    assert any("toy:index.mean = 51.234, but results now have 60.0" in p for p in problems)
    assert any("numbers.json changed" in p for p in problems)


def test_check_reports_a_changed_or_deleted_figure(toy):
    results, source, out = toy
    pb.build(results, out, source, pdf=False, verbose=False)
    (results / "toy" / "figures" / "curve.pdf").unlink()
    png = results / "toy" / "figures" / "curve.png"
    png.write_bytes(png.read_bytes() + b"\0")
    problems = pb.check(out, results, source)
    assert any("curve.pdf is cited by the paper but no longer exists" in p for p in problems)
    assert any("curve.png changed since the paper was built" in p for p in problems)


def test_check_reports_an_edited_manuscript_and_a_never_built_paper(toy, tmp_path):
    results, source, out = toy
    pb.build(results, out, source, pdf=False, verbose=False)
    source.write_text(MANUSCRIPT + "\nOne more sentence.\n")
    assert any("changed since the paper was built" in p for p in pb.check(out, results, source))
    assert "never built" in pb.check(tmp_path / "nowhere", results)[0]


def test_missing_key_names_the_key_the_file_and_the_line(toy):
    results, source, out = toy
    source.write_text(MANUSCRIPT.replace("toy:share.connected", "toy:share.conected"))
    with pytest.raises(pb.PaperBuildError) as info:
        pb.build(results, out, source, pdf=False, verbose=False)
    message = str(info.value)
    assert "toy:share.conected" in message
    assert str(results.resolve() / "toy" / "numbers.json") in message
    assert "no key 'conected' under share" in message and "keys there: connected" in message
    line = next(i for i, text in enumerate(source.read_text().split("\n"), 1) if "conected" in text)
    assert f"manuscript.md line {line}" in message
    assert not (out / "paper.html").exists()


def test_missing_figure_table_and_study_are_named(toy):
    results, source, out = toy
    text = (MANUSCRIPT.replace("toy:curve", "toy:curv")
            .replace("toy:calibration", "toy:calib")
            .replace("{{ manifest toy:seed }}", "{{ other:x }}"))
    source.write_text(text)
    with pytest.raises(pb.PaperBuildError) as info:
        pb.build(results, out, source, pdf=False, verbose=False)
    message = str(info.value)
    assert "figures/curv.png does not exist" in message and "curve.png" in message
    assert "tables/calib.csv does not exist" in message
    assert "other does not exist" in message


def test_results_mixing_two_runs_are_rejected(toy):
    results, source, out = toy
    csv = results / "toy" / "tables" / "calibration.csv"
    csv.write_text(csv.read_text().replace("36.81", "40.00"))
    with pytest.raises(pb.StaleResultsError, match="calibration.csv does not match its manifest"):
        pb.build(results, out, source, pdf=False, verbose=False)


def test_stale_config_is_detected(tmp_path):
    config = tmp_path / "toy.toml"
    config.write_text("n = 1\n")
    study = Study("toy", tmp_path / "results" / "toy", seed=1, config={"n": 1},
                  config_path=config, verbose=False)
    study.number("n", 1)
    study.finish()
    config.write_text("n = 2\n")
    source = tmp_path / "m.md"
    source.write_text("There were {{ toy:n }}.\n")
    with pytest.raises(pb.PaperBuildError, match="results/toy is stale"):
        pb.build(tmp_path / "results", tmp_path / "build", source, pdf=False, verbose=False)
    built = pb.build(tmp_path / "results", tmp_path / "build", source, pdf=False,
                     strict_config=False, verbose=False)
    assert any("stale" in w for w in built.warnings)


SCRIPT = """
import pandas as pd
from connection import plots

INPUTS = ["toy:tables/calibration.csv"]


def make(paths):
    table = pd.read_csv(paths[INPUTS[0]])
    fig, ax = plots.new_figure()
    ax.barh(table["group"], table["sample"])
    return fig
"""


def test_a_figure_script_draws_from_study_tables_and_is_tracked(toy, tmp_path):
    results, source, out = toy
    scripts = tmp_path / "figscripts"
    scripts.mkdir()
    (scripts / "bars.py").write_text(SCRIPT)
    source.write_text(MANUSCRIPT + "\n::: figure script:bars {#fig-bars}\nBars.\n:::\n")
    built = pb.build(results, out, source, pdf=False, verbose=False, figure_scripts=scripts)
    prov = json.loads(built.provenance.read_text())
    assert "toy/tables/calibration.csv" in prov["files"] and "@script/bars.py" in prov["files"]
    assert (out / "figures" / "script-bars.png").exists()
    assert (out / "figures" / "script-bars.pdf").exists()
    assert "Figure 2." in built.html.read_text()
    assert pb.check(out, results, source) == []
    (scripts / "bars.py").write_text(SCRIPT.replace("barh", "bar"))
    assert any("bars.py changed" in p for p in pb.check(out, results, source))


def test_draft_mode_marks_missing_inputs(toy):
    results, source, out = toy
    source.write_text(MANUSCRIPT.replace("toy:n }}", "toy:nope }}"))
    built = pb.build(results, out, source, pdf=False, draft=True, verbose=False)
    assert "[missing toy:nope]" in built.html.read_text()


def test_bad_source_syntax_is_reported(tmp_path):
    source = tmp_path / "m.md"
    source.write_text("::: figure toy:x\nnever closed\n")
    with pytest.raises(pb.PaperBuildError, match="never closed"):
        pb.parse_source(source)
    source.write_text("::: chart toy:x\n:::\n")
    with pytest.raises(pb.PaperBuildError, match="line 1"):
        pb.parse_source(source)


@pytest.mark.parametrize(("value", "spec", "expected"), [
    (0.5432, "pct", "54%"), (0.5432, "pct1", "54.3%"), (0.0009999, "p", "p < 0.001"),
    (0.001, "p", "p = 0.001"), (0.04449, "p", "p = 0.044"), (20000, "", "20,000"),
    (1234.5, "", "1,234"), (0.000123, "", "0.000123"), (-0.4567, "", "-0.457"),
    (3.0, "int", "3"), (-0.31, "pp", "-31"), (0.124, "pp1", "+12.4"), (2.049, "times", "2.0x"), (0.43912, "sig2", "0.44"),
    (False, "yesno:is,is not", "is not"), (None, ".2f or:never", "never"),
    (0.25, "pct or:none", "25%"), (-0.916, "abs .2f", "0.92"),
    (0.3, "breaks at {:.1f} or:never breaks", "breaks at 0.3"),
    (None, "breaks at {:.1f} or:never breaks", "never breaks"), ("banking", "", "banking"), ([1, 2], "", "1, 2"),
])
def test_format_value(value, spec, expected):
    assert pb.format_value(value, spec) == expected


def test_the_builders_docstring_examples():
    import doctest

    result = doctest.testmod(pb, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 9 and result.failed == 0


def test_format_value_rejects_null_and_nonsense():
    with pytest.raises(ValueError, match="null"):
        pb.format_value(None)
    with pytest.raises(ValueError, match="bad format"):
        pb.format_value(1.0, "zz")
    with pytest.raises(ValueError, match="true/false"):
        pb.format_value(1.0, "yesno:a,b")


def test_lint_finds_hand_typed_numbers_only():
    text = ("---\ntitle: Paper 2\n---\nIn 2011, 54% said so; {{ s:x | .1f }} and {{ lit 0-100 }}"
            " and `x = 3` and @fig-a1 stay.\n<!-- 77 -->\n# References\nVol. 15(1), 1-10.\n")
    assert pb.lint_hand_typed_numbers(text) == [(2, "2"), (4, "54%")]


def test_the_manuscript_has_no_hand_typed_numbers():
    source = ROOT / "paper" / "manuscript.md"
    found = pb.lint_hand_typed_numbers(source.read_text())
    assert found == [], ("numbers typed into paper/manuscript.md instead of pulled from "
                         f"numbers.json (line, text): {found}")


def test_the_manuscript_parses_and_every_reference_has_a_target():
    src = pb.parse_source(ROOT / "paper" / "manuscript.md")
    ids = {part.ident for part in src.body if isinstance(part, pb.Block)}
    cited = set(re.findall(pb.REFERENCE, src.text))
    assert cited <= ids, f"references without a figure/table: {cited - ids}"
    sources = [part.source for part in src.body if isinstance(part, pb.Block)]
    assert all(":" in s for s in sources)


def test_citations_resolve_and_the_reference_list_holds_only_cited_works(toy):
    results, source, out = toy
    (source.parent / "refs.yaml").write_text(
        "smith2001:\n  cite: Smith\n  year: 2001\n  text: Smith, A. (2001). A book.\n"
        "jones2002:\n  cite: Jones & Lee\n  year: 2002\n  text: Jones, B., & Lee, C. (2002). A paper.\n"
        "unused1999:\n  cite: Nobody\n  year: 1999\n  text: Nobody (1999). Never cited.\n")
    text = MANUSCRIPT.replace("---\n\n## Results", "bibliography: refs.yaml\n---\n\n## Results")
    source.write_text(text + "\nAs @smith2001 showed [@jones2002; @smith2001].\n")
    page = pb.build(results, out, source, pdf=False, verbose=False).html.read_text()
    assert "As Smith (2001) showed (Jones &amp; Lee, 2002; Smith, 2001)." in page
    assert "Jones, B., &amp; Lee, C. (2002). A paper." in page and "Never cited" not in page
    assert page.index("Jones, B.") < page.index("Smith, A.")  # sorted by author
    source.write_text(text + "\nAs [@smyth2001].\n")
    with pytest.raises(pb.PaperBuildError, match=r"@smyth2001 is not in the bibliography"):
        pb.build(results, out, source, pdf=False, verbose=False)


# ---------------------------------------------------------------------------------------------
# the real manuscript against a fast run of the real studies
FAST_STUDIES = ["social_moms", "power_social_moms", "why_like", "perception_gap"]


@pytest.fixture(scope="module")
def fast_results(study_results):
    """Every study, run small into one results folder (tests/conftest.py), as make.py reproduce
    runs them."""
    return study_results


def test_the_manuscript_builds_from_the_studies_and_cites_only_what_they_wrote(fast_results,
                                                                               tmp_path):
    out = tmp_path / "paper"
    built = pb.build(fast_results, out, pdf=False, verbose=False)
    page = built.html.read_text()
    assert "??" not in page and "[missing" not in page and "{{" not in page
    prov = json.loads(built.provenance.read_text())
    # every study the make.py pipeline runs is cited, with figures and numbers
    for study in FAST_STUDIES:
        assert f"{study}/numbers.json" in prov["files"], study
        assert any(k.startswith(f"{study}:") for k in prov["numbers"]), study
    assert prov["figures"] >= 6 and prov["tables"] >= 3
    # each cited number is the study's number, and each file the study's file
    from connection._io import sha256_file

    for cited, value in prov["numbers"].items():
        study, _, key = cited.partition(":")
        node = json.loads((fast_results / study / "numbers.json").read_text())
        for part in key.split("."):
            node = node[int(part)] if isinstance(node, list) else node[part]
        assert node == value, cited
    scripts = {rel for rel in prov["files"] if rel.startswith("@script/")}
    for rel in scripts:  # figure scripts of the paper: recorded by their own hash
        assert sha256_file(ROOT / "paper" / "figures" / rel.split("/", 1)[1]) == prov["files"][rel]
    for rel, digest in prov["files"].items():
        if rel in scripts:
            continue
        manifest = json.loads((fast_results / rel.split("/")[0] / "manifest.json").read_text())
        assert manifest["outputs"][rel.split("/", 1)[1]] == digest, rel
        assert sha256_file(fast_results / rel) == digest
    assert pb.check(out, fast_results) == []


def test_the_manuscript_fails_loudly_when_a_study_output_goes_missing(fast_results, tmp_path):
    import shutil

    results = tmp_path / "results"
    shutil.copytree(fast_results, results)
    (results / "why_like" / "figures" / "why_like_ci_by_n.png").unlink()
    with pytest.raises(pb.PaperBuildError, match="why_like_ci_by_n.png does not exist"):
        pb.build(results, tmp_path / "paper", pdf=False, verbose=False)


# --------------------------------------------------------------------------- bad options, bad files
TABLE_BLOCK = ('::: table toy:calibration {#tab-cal columns="group:Group,published:Published" '
               '%s}\nCaption.\n:::\n')


@pytest.mark.parametrize("option,named,allowed", [
    ("head=x", "head='x'", "a whole number of at least 1"),
    ("head=2.5", "head='2.5'", "a whole number of at least 1"),
    ("head=-1", "head='-1'", "a whole number of at least 1"),  # pandas: all rows but the last
    ("head=0", "head='0'", "a whole number of at least 1"),
    ("sort=zzz", "sort='zzz'", "from: group, item, published, sample"),
    ("sort=group,zzz", "has no column 'zzz'", "column names separated by commas"),
])
def test_a_bad_table_option_names_the_block_the_option_the_value_and_what_is_allowed(
        toy, option, named, allowed):
    """head=x was a raw ValueError ('a bug'), sort=zzz a KeyError shown as 'ConfigError: a
    required key is missing', head=-1 silently dropped the last row."""
    results, source, out = toy
    source.write_text("Text.\n\n" + TABLE_BLOCK % option)
    with pytest.raises(pb.PaperBuildError) as info:
        pb.build(results, out, source, pdf=False, verbose=False)
    message = str(info.value)
    assert "manuscript.md line 3" in message and "table toy:calibration" in message
    assert named in message and allowed in message
    assert not (out / "paper.html").exists()


def test_good_head_and_sort_options_still_work(toy):
    results, source, out = toy
    source.write_text("Text.\n\n" + TABLE_BLOCK % "sort=published head=1")
    page = pb.build(results, out, source, pdf=False, verbose=False).html.read_text()
    # the row with the smallest published value only
    assert "<td>other_moms</td>" in page and "social_media_moms" not in page


@pytest.mark.parametrize("damage,named", [
    (lambda p: p["source"].pop("sha256"), "lacks 'source.sha256'"),
    (lambda p: p["source"].update(sha256=None), "lacks 'source.sha256'"),
    (lambda p: p["source"].pop("path"), "lacks 'source.path'"),
    (lambda p: p.update(bibliography={"path": "references.yaml"}),
     "'bibliography.path' and 'bibliography.sha256'"),
    (lambda p: p["files"].update({"toy/numbers.json": 5}),
     "a sha256 for files entry 'toy/numbers.json' (has int)"),
])
def test_check_with_a_provenance_entry_missing_names_the_entry(toy, damage, named):
    """A provenance without source.sha256 was a raw KeyError ('a required key is missing')."""
    results, source, out = toy
    pb.build(results, out, source, pdf=False, verbose=False)
    path = out / "provenance.json"
    prov = json.loads(path.read_text())
    damage(prov)
    path.write_text(json.dumps(prov))
    with pytest.raises(pb.PaperBuildError) as info:
        pb.check(out, results, source)
    message = str(info.value)
    assert str(path) in message and named in message
    assert "64 hex digits" in message and "rebuild the paper with python paper/build.py" in message


def _alias_bomb(levels: int = 9) -> str:
    """The "billion laughs": 342 bytes of nested aliases (``*i``) that expand to 9**9 strings.
    Fewer ``levels`` make a small one (the last name is ``*`` + "abcdefghi"[levels - 1]) that
    the builder without the refusal expanded harmlessly (a test of it fails, not the machine)."""
    names = "abcdefghi"[:levels]
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip(names, names[1:]):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_in_the_front_matter_is_refused_quickly(tmp_path):
    source = tmp_path / "m.md"
    source.write_text("---\ntitle: *i\n" + _alias_bomb() + "---\nText.\n")
    with pytest.raises(pb.PaperBuildError) as info:
        pb.parse_source(source)
    message = str(info.value)
    assert f"the front matter of {source}" in message
    assert "YAML alias (*i) on line 2" in message  # the file's own line number
    assert "no &anchor or *alias" in message and "codebook" not in message


def test_an_alias_bomb_in_the_bibliography_is_refused_quickly(tmp_path):
    bib = tmp_path / "references.yaml"
    # a small one: the entry's text is expanded (str) as soon as it is read
    bib.write_text("smith2001:\n  cite: Smith\n  year: 2001\n  text: *d\n"
                   + _alias_bomb(4).replace("a: &a", "z: &a"))
    with pytest.raises(pb.PaperBuildError, match=r"the bibliography .*references\.yaml is "
                                                 r"refused: YAML alias \(\*d\) on line 4"):
        pb.load_bibliography(bib)


def test_yaml_anchors_deep_nesting_and_repeated_keys_are_refused_in_the_front_matter(tmp_path):
    source = tmp_path / "m.md"
    for front, text in [("title: &t Paper\n", "YAML anchor (&t) on line 2"),
                        ("title: A\ntitle: B\n", "duplicate key 'title' (line 3; first on line 2)"),
                        ("x: " + "[" * 20 + "]" * 20 + "\n", "nested more than 12 levels deep"),
                        ("title: [unclosed\n", "is not valid YAML")]:
        source.write_text("---\n" + front + "---\nText.\n")
        with pytest.raises(pb.PaperBuildError) as info:
            pb.parse_source(source)
        assert text in str(info.value) and str(source) in str(info.value)


def test_a_table_whose_flags_column_is_all_empty_builds_without_a_pandas_warning(tmp_path):
    """An all-empty flags column is read back as float NaN; fillna("") on it is a
    Pandas4Warning today and an error in pandas 4."""
    import warnings

    results = tmp_path / "results"
    study = Study("toy", results / "toy", seed=1, config={"a": 1}, verbose=False)
    study.table("rel", pd.DataFrame({"construct": ["a", "b"], "omega": [0.8, 0.9],
                                     "flags": ["", ""]}))
    study.finish()
    source = tmp_path / "m.md"
    source.write_text('::: table toy:rel {#tab-rel columns="construct:C,omega:Omega"}\nR.\n:::\n')
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        warnings.simplefilter("error", FutureWarning)
        built = pb.build(results, tmp_path / "b", source, pdf=False, verbose=False)
    assert "0.9" in built.html.read_text()
