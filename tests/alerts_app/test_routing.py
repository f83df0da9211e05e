"""The pure routing tree: matchers, children, continue, inheritance, group keys, mute timings."""

from datetime import UTC, datetime

import pytest

from alerts_app.routing import (
    Node,
    alert_labels,
    build_tree,
    group_by_errors,
    is_muted,
    matcher_errors,
    matches,
    mute_timing_errors,
    route,
)

DRIFT = alert_labels(
    model="fraud",
    tags=["payments", "eu"],
    severity="critical",
    kind="data_drift",
    rule=7,
    version="3",
    feature="age",
)
LOSS = alert_labels(
    model="churn", tags=["crm"], severity="warning", kind="metric_threshold", rule=9
)


def policy(id, parent=None, **fields):
    return {"id": id, "parent": parent, "name": f"p{id}", "channels": [id * 10]} | fields


@pytest.mark.parametrize(
    ("matchers", "labels", "expected"),
    [
        ({}, DRIFT, True),
        ({"model": ["fraud"]}, DRIFT, True),
        ({"model": ["churn", "fraud"]}, DRIFT, True),  # values OR-ed
        ({"model": ["churn"]}, DRIFT, False),
        ({"model": ["fraud"], "severity": ["warning"]}, DRIFT, False),  # keys AND-ed
        ({"model": ["fraud"], "severity": ["critical"], "kind": ["data_drift"]}, DRIFT, True),
        ({"tags": ["eu"]}, DRIFT, True),  # any of the model's tags
        ({"tags": ["us"]}, DRIFT, False),
        ({"tags": ["eu"]}, LOSS, False),
        ({"kind": []}, LOSS, True),  # an empty list does not restrict
    ],
)
def test_matchers_and_keys_or_values(matchers, labels, expected):
    assert matches(matchers, labels) is expected


# (tree rows, labels) -> [(policy id, channels, group key)]
ROUTES = [
    ("no policy: nobody", [], DRIFT, []),
    ("a catch-all takes everything", [policy(1)], LOSS, [(1, (10,), "policy:1|model=churn")]),
    (
        "the first matching sibling wins",
        [policy(1, matchers={"model": ["fraud"]}), policy(2, matchers={"severity": ["critical"]})],
        DRIFT,
        [(1, (10,), "policy:1|model=fraud")],
    ),
    (
        "continue lets the next sibling match too",
        [
            policy(1, matchers={"model": ["fraud"]}, continue_matching=True),
            policy(2, matchers={"severity": ["critical"]}),
        ],
        DRIFT,
        [(1, (10,), "policy:1|model=fraud"), (2, (20,), "policy:2|model=fraud")],
    ),
    (
        "catch-alls come after the policies with matchers, whatever the ids",
        [policy(1), policy(2, matchers={"kind": ["data_drift"]})],
        DRIFT,
        [(2, (20,), "policy:2|model=fraud")],
    ),
    (
        "the default (catch-all) takes what no other policy took",
        [policy(1), policy(2, matchers={"kind": ["data_drift"]})],
        LOSS,
        [(1, (10,), "policy:1|model=churn")],
    ),
    (
        "a matching child takes the alert from its parent",
        [policy(1, matchers={"model": ["fraud"]}), policy(2, parent=1, matchers={"tags": ["eu"]})],
        DRIFT,
        [(2, (20,), "policy:2|model=fraud")],
    ),
    (
        "no child matches: the parent takes it",
        [policy(1, matchers={"model": ["fraud"]}), policy(2, parent=1, matchers={"tags": ["us"]})],
        DRIFT,
        [(1, (10,), "policy:1|model=fraud")],
    ),
    (
        "a child that does not match under a parent that does not match: nobody",
        [policy(1, matchers={"model": ["churn"]}), policy(2, parent=1)],
        DRIFT,
        [],
    ),
    (
        "a child without channels and group_by inherits its parent's",
        [
            policy(1, group_by=["model", "severity"]),
            {"id": 2, "parent": 1, "name": "c", "matchers": {"kind": ["data_drift"]}},
        ],
        DRIFT,
        [(2, (10,), "policy:2|model=fraud|severity=critical")],
    ),
    (
        "group_by rule and feature",
        [policy(1, group_by=["rule", "feature"])],
        DRIFT,
        [(1, (10,), "policy:1|rule=7|feature=age")],
    ),
    ("group_by nothing: one group", [policy(1, group_by=[])], DRIFT, [(1, (10,), "policy:1")]),
]


@pytest.mark.parametrize(("case", "rows", "labels", "expected"), ROUTES, ids=[r[0] for r in ROUTES])
def test_route(case, rows, labels, expected):
    got = [(m.policy_id, m.channels, m.group_key) for m in route(labels, build_tree(rows))]
    assert got == expected


def test_timings_default_to_30s_5m_4h_and_are_inherited_unless_set():
    tree = build_tree(
        [policy(1, group_wait=5), {"id": 2, "parent": 1, "name": "c", "repeat_interval": 60}]
    )
    (match,) = route(DRIFT, tree)
    assert (match.group_wait, match.group_interval, match.repeat_interval) == (5, 300, 60)
    assert match.group_labels == {"model": "fraud"}


def test_a_cycle_in_the_rows_does_not_loop():
    assert route(DRIFT, Node()) == []
    rows = [policy(1), policy(2, parent=2)]  # 2 is its own parent: unreachable
    assert [m.policy_id for m in route(DRIFT, build_tree(rows))] == [1]


SAT_NOON = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)  # a Saturday
MON_0300 = datetime(2026, 3, 9, 3, 0, tzinfo=UTC)
MON_1200 = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("timings", "now", "muted"),
    [
        ([], SAT_NOON, False),
        ([{"weekdays": ["sat", "sun"]}], SAT_NOON, True),
        ([{"weekdays": ["sat", "sun"]}], MON_1200, False),
        ([{"start": "22:00", "end": "06:00"}], MON_0300, True),  # past midnight
        ([{"weekdays": ["sun"], "start": "22:00", "end": "06:00"}], MON_0300, True),
        ([{"weekdays": ["mon"], "start": "22:00", "end": "06:00"}], MON_0300, False),
        ([{"start": "09:00", "end": "17:00"}], MON_1200, True),
        ([{"start": "09:00", "end": "17:00", "timezone": "America/New_York"}], MON_1200, False),
        ([{"start": "00:00", "end": "24:00", "weekdays": ["mon"]}], MON_1200, True),
    ],
)
def test_mute_timings_are_weekly_windows(timings, now, muted):
    assert is_muted(timings, now) is muted


def test_validation_names_what_is_wrong():
    assert matcher_errors({"team": ["a"]}) == [
        'Unknown matcher "team". Known: model, tags, severity, kind.'
    ]
    assert matcher_errors({"model": "fraud"}) == ['"model" must be a list of names.']
    assert matcher_errors({"model": ["fraud"], "tags": []}) == []
    assert group_by_errors(["model", "colour"]) == [
        'Unknown label "colour". Known: model, rule, severity, kind, version, feature.'
    ]
    assert mute_timing_errors(
        [{"weekdays": ["someday"], "start": "25:00", "timezone": "Mars/X"}]
    ) == [
        "0: weekdays: a list of mon, tue, wed, thu, fri, sat, sun.",
        '0: start: "25:00" is not a time of day (HH:MM, 00:00-24:00).',
        '0: timezone: "Mars/X" is not a known time zone.',
    ]
