"""The MDL playground page, through Streamlit's AppTest."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "mdl_playground.py"), default_timeout=30)
    return at.run()


def test_sample_is_parsed_and_shown_canonical() -> None:
    at = page()
    assert not at.exception
    assert at.subheader[0].value == "5 occurrences"
    table = at.dataframe[0].value
    assert list(table["kind"]) == ["Instructions", "Begin", "Context", "Self", "Participant"]
    assert list(table["speaker"])[3:5] == ["Self", "Customer"]
    assert "Canonical MDL** (unchanged)" in at.markdown[0].value


def test_older_form_is_normalised_and_errors_show_line_and_column() -> None:
    at = page()
    at.text_area(key="mdl_text").input("Instructions: Be kind.\nSelf: Hello\n").run()
    assert "(normalised)" in at.markdown[0].value
    assert at.code[0].value.rstrip("\n") == "Instructions: '''\nBe kind.\n'''\nSelf: \"Hello\""
    at.text_area(key="mdl_text").input('Begin.\nSelf: "Hi"\nCustomer: """oops\n').run()
    assert at.error[0].value == 'Line 3, column 11: unterminated """ string started here'
    assert not at.dataframe


def test_app_entry_point_reaches_the_playground(env: Path) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "Chat"  # the default page
    at.switch_page("pages/mdl_playground.py").run()
    assert at.title[0].value == "MDL playground"
