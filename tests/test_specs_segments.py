"""Spec loading: shipped examples load; invalid specs fail with one clear line each."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdp.config import Settings
from cdp.errors import ConfigError
from cdp.segments.durations import from_micros
from cdp.segments.filters import ParamFilter
from cdp.segments.loader import load_project_specs, load_specs
from cdp.segments.reference import param_matches

SHIPPED = Path(__file__).parent.parent / "fixtures" / "specs"
DEMO_COLUMNS = {"tab_name": "string", "model": "string"}


def test_shipped_specs_load() -> None:
    specs = load_specs(SHIPPED, DEMO_COLUMNS)
    assert [a.name for a in specs.audiences] == ["ev9_interest", "yeouido_showroom"]
    assert [t.name for t in specs.triggers] == ["test_drive_abandon"]
    assert [f.name for f in specs.funnels] == ["cej_test_drive"]
    assert specs.trigger_settings is not None and specs.trigger_settings.daily_cap == 3
    assert specs.trigger("test_drive_abandon").wait.micros == 30 * 60 * 1_000_000


def test_shipped_specs_need_the_demo_columns() -> None:
    with pytest.raises(ConfigError, match=r"unknown column 'tab_name'"):
        load_specs(SHIPPED)


AUDIENCE = "kind: audience\nname: a\ncondition:\n  events:\n    event: page_view\n"
TRIGGER = "kind: trigger\nname: t\nstart: {event: test_drive_click}\ncompletion: [{event: test_drive_submit}]\n"
FUNNEL = "kind: funnel\nname: f\nwindow: 7d\nsteps: [{name: a, event: x}, {name: b, event: y}]\n"
ONE_OF = "condition: Value error, give exactly one of: all, any, not, events, last_event, crm, user_property"

INVALID = {
    "unknown_field": (
        AUDIENCE + "    windw: {last: 14d}\n",
        "condition.events.windw: unknown field",
    ),
    "bad_regex": (
        AUDIENCE + "    where: [{param: page_path, regex: '(ev9'}]\n",
        "condition.events.where.0.regex: Value error, not a valid RE2 regular expression: '(ev9'",
    ),
    "negative_window": (
        AUDIENCE + "    window: {last: {days: -14}}\n",
        "condition.events.window.last.days: Input should be greater than or equal to 0 (got -14)",
    ),
    "negative_window_shorthand": (
        AUDIENCE + "    window: {last: -14d}\n",
        "condition.events.window.last: Value error, expected a positive duration like 30m, 6h or 14d (got '-14d')",
    ),
    "unknown_param_type": (
        AUDIENCE + "    where: [{param: page_path, type: text, equals: /}]\n",
        "condition.events.where.0.type: Input should be 'string', 'int', 'double' or 'bool' (got 'text')",
    ),
    "wrong_param_type": (
        AUDIENCE + "    where: [{param: page_path, type: int, equals: 3}]\n",
        "condition.events.where.0.param: column 'page_path' is string, not int",
    ),
    "unknown_column": (
        AUDIENCE + "    where: [{param: tab_nam, equals: exterior}]\n",
        "condition.events.where.0.param: unknown column 'tab_nam'; expected one of:",
    ),
    "unknown_crm_column": (
        "kind: audience\nname: a\ncondition: {crm: {param: loyalty, equals: gold}}\n",
        "condition.crm.param: unknown column 'loyalty'; expected one of:",
    ),
    "trigger_start_is_completion": (
        "kind: trigger\nname: t\nstart: {event: test_drive_click, where: [{param: model, equals: ev9}]}\n"
        "completion: [{event: test_drive_click, where: [{param: model, equals: ev9}]}]\nwait: 30m\n",
        "completion: Value error, completion 0 is the same event as start",
    ),
    "trigger_negative_wait": (
        TRIGGER + "wait: {minutes: -30}\n",
        "wait.minutes: Input should be greater than or equal to 0",
    ),
    "unknown_kind": (
        "kind: segment\nname: a\n",
        "kind: expected kind to be one of audience, trigger, funnel",
    ),
    "two_leaf_kinds": (
        "kind: audience\nname: a\ncondition: {events: {event: x}, crm: {param: customer_type, equals: a}}\n",
        "condition: Value error, give exactly one of: all, any, not, events, last_event, crm, user_property",
    ),
    "string_column_number_value": (
        AUDIENCE + "    where: [{param: model, equals: 9}]\n",
        "condition.events.where.0.param: column 'model' is a string: quote the value(s)",
    ),
    "regex_not_re2": (  # Python's re has lookahead, the warehouses' RE2 does not
        AUDIENCE + "    where: [{param: page_path, regex: '^/models/(?!ev9)'}]\n",
        "regex: Value error, not a valid RE2 regular expression: '^/models/(?!ev9)' (invalid perl operator: (?!)",
    ),
    "empty_leaf": ("kind: audience\nname: a\ncondition:\n  events:\n", ONE_OF),  # `events: null`
    "empty_not": ("kind: audience\nname: a\ncondition:\n  not:\n", ONE_OF),
    "null_crm": ("kind: audience\nname: a\ncondition: {crm: null}\n", ONE_OF),
    "empty_in": (
        AUDIENCE + "    where: [{param: page_path, in: []}]\n",
        "condition.events.where.0.in: List should have at least 1 item after validation, not 0",
    ),
    "duplicate_key": (
        AUDIENCE + "    event: session_start\n",
        "line 6: not valid YAML: duplicate key 'event' (first on line 5)",
    ),
    "trigger_expiry_within_safety_lag": (
        TRIGGER + "wait: 30m\nexpiry: 45m\n",
        "expiry: expiry (45m) must be longer than wait (30m) + trigger_settings safety_lag (15m)",
    ),
    "duration_overflow": (  # was a bare OverflowError from timedelta
        AUDIENCE + "    window: {last: 1000000000d}\n",
        "condition.events.window.last.days: Input should be less than or equal to 36500",
    ),
    "duration_over_100_years": (
        FUNNEL.replace("7d", "{days: 36500, hours: 1}"),
        "window: Value error, must be at most 36500 days (100 years)",
    ),
    "breakdown_named_like_a_report_column": (  # `day` reported event_date, `step` crashed
        FUNNEL + "breakdown: [day]\n",
        "breakdown: Value error, breakdown column 'day' clashes with a funnel report column",
    ),
    "dropoff_lookback_past_period": (  # entries are kept for `period` only: silently cut
        FUNNEL + "period: 7d\ndropoff: {lookback: 30d}\n",
        "Value error, dropoff.lookback (30d) is longer than period (7d)",
    ),
    "dropoff_after_past_lookback": (  # could never have a member
        FUNNEL + "dropoff: {after: 14d, lookback: 14d}\n",
        "Value error, dropoff.after (14d) must be shorter than dropoff.lookback (14d)",
    ),
    "dropoff_no_steps": (  # meant every step
        FUNNEL + "dropoff: {steps: []}\n",
        "dropoff.steps: List should have at least 1 item after validation, not 0",
    ),
    "dropoff_consent_flag": (
        FUNNEL + "dropoff: {population: {include_consent_denied: true}}\n",
        "dropoff.population: Value error, include_consent_denied has no effect on a drop-off "
        "population; set the funnel's own include_consent_denied instead",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_spec_is_one_clear_line(tmp_path: Path, case: str) -> None:
    text, expected = INVALID[case]
    (tmp_path / "spec.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_specs(tmp_path, DEMO_COLUMNS)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path / 'spec.yaml'}: "), message
    assert expected in message, message


def test_list_file_names_the_item(tmp_path: Path) -> None:
    (tmp_path / "many.yaml").write_text(
        "- kind: audience\n  name: a\n  condition: {events: {event: x}}\n"
        "- kind: audience\n  name: b\n  condition: {events: {event: x, count: {gte: -1}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(
        ConfigError, match=r"many.yaml: 1.condition.events.count.gte: Input should be greater"
    ):
        load_specs(tmp_path)


def test_duplicate_names_rejected(tmp_path: Path) -> None:
    for name in ("one.yaml", "two.yaml"):
        (tmp_path / name).write_text(AUDIENCE, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"two.yaml: name: audience 'a' is already defined in"):
        load_specs(tmp_path)


def test_non_spec_yaml_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "destinations.yaml").write_text("destinations: []\n", encoding="utf-8")
    (tmp_path / "a.yaml").write_text(AUDIENCE, encoding="utf-8")
    assert [a.name for a in load_specs(tmp_path).audiences] == ["a"]


def test_null_beside_a_leaf_is_not_a_second_leaf(tmp_path: Path) -> None:
    text = "kind: audience\nname: a\ncondition: {crm: null, events: {event: x}}\n"
    (tmp_path / "a.yaml").write_text(text, encoding="utf-8")
    [audience] = load_specs(tmp_path).audiences
    assert audience.condition.kind == "events"


def test_bad_regex_is_reported_once(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.yaml").write_text(INVALID["bad_regex"][0], encoding="utf-8")
    with pytest.raises(ConfigError, match="missing \\)"):
        load_specs(tmp_path)
    assert capfd.readouterr().err == ""  # RE2 does not also log it on stderr


def test_re2_only_regex_is_valid_and_matches() -> None:
    letters = ParamFilter.model_validate({"param": "page_path", "regex": r"^/\pL+$"})
    assert param_matches(letters, "/models") and not param_matches(letters, "/ev9")


def test_expiry_is_checked_against_the_specs_safety_lag(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(TRIGGER + "wait: 30m\nexpiry: 45m\n", encoding="utf-8")
    (tmp_path / "s.yaml").write_text("kind: trigger_settings\nsafety_lag: 5m\n", encoding="utf-8")
    assert load_specs(tmp_path).trigger("t").expiry is not None


DAY = "kind: audience\nname: a\ncondition:\n  events:\n    event: page_view\n    window: {between: {start: 2024-05-19, end: 2024-05-19%s}}\n"


@pytest.mark.parametrize(
    ("zone", "first_utc_hour"), [("", "2024-05-18T15:00"), (", time_zone: UTC", "2024-05-19T00:00")]
)
def test_project_time_zone_dates_ranges(tmp_path: Path, zone: str, first_utc_hour: str) -> None:
    (tmp_path / "a.yaml").write_text(DAY % zone, encoding="utf-8")
    [audience] = load_project_specs(
        Settings(specs_dir=str(tmp_path), time_zone="Asia/Seoul")
    ).audiences
    assert audience.condition.events is not None and audience.condition.events.window is not None
    between = audience.condition.events.window.between
    assert between is not None
    lo, hi = between.micros()
    assert from_micros(lo).isoformat().startswith(first_utc_hour)
    assert hi - lo == 86_400_000_000 - 1


def test_bool_values_stay_booleans_and_are_checked_against_the_column() -> None:
    from cdp.segments.columns import filter_problem

    flag = ParamFilter.model_validate({"param": "opted_in", "equals": True})
    # BigQuery has no BOOL = 1.0 coercion.
    assert flag.condition().sql(dialect="bigquery") == "opted_in = TRUE"
    assert param_matches(flag, True) and not param_matches(flag, False)
    known = {"opted_in": "bool", "score": "int"}
    assert filter_problem(flag, known) is None
    one = ParamFilter.model_validate({"param": "opted_in", "equals": 1})
    assert "must be true or false" in str(filter_problem(one, known))
    on_int = ParamFilter.model_validate({"param": "score", "in": [True]})
    assert "must be numbers" in str(filter_problem(on_int, known))
    assert ParamFilter.model_validate({"param": "score", "equals": 3}).equals == 3.0


def test_int64_values_stay_exact() -> None:
    """Values went through float: an INT64 id past 2**53 compared with a neighbour."""
    from cdp.segments.filters import ParamFilter

    big = 2**53 + 1
    for op in ("equals", "gte"):
        flt = ParamFilter.model_validate({"param": "ga_session_id", op: big})
        assert str(big) in flt.condition().sql("bigquery")


def test_quiet_hours_and_the_daily_cap_take_the_project_time_zone(tmp_path: Path) -> None:
    """They were Asia/Seoul whatever the project's `time_zone`."""
    (tmp_path / "t.yaml").write_text(
        TRIGGER + "wait: 30m\nquiet_hours: {start: '21:00', end: '08:00'}\n", encoding="utf-8"
    )
    specs = load_specs(tmp_path, DEMO_COLUMNS, time_zone="Asia/Tokyo")
    [trigger] = specs.triggers
    assert trigger.quiet_hours is not None and trigger.quiet_hours.time_zone == "Asia/Tokyo"
    assert specs.trigger_settings is not None and specs.trigger_settings.time_zone == "Asia/Tokyo"
    (tmp_path / "s.yaml").write_text("kind: trigger_settings\ntime_zone: UTC\n", encoding="utf-8")
    specs = load_specs(tmp_path, DEMO_COLUMNS, time_zone="Asia/Tokyo")
    assert specs.trigger_settings is not None and specs.trigger_settings.time_zone == "UTC"
