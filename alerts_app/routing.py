"""The routing tree: which notification policies an alert goes to, and in which group.

A pure module (no ORM, no settings, no clock), like `state.py`: `route(labels, tree)`
takes an alert's labels and the policy tree as plain data and answers the matches
`[Match(policy, channels, group key, ...)]`. `incidents.py` feeds it from the database.

Semantics (Alertmanager's):
- Matchers: keys AND-ed, the values of one key OR-ed; no matcher matches everything.
  `tags` matches when the model has any of the listed tags.
- A node that matches tries its children in order (policies with matchers first, then
  the catch-alls, each by id); the first child that matches takes the alert unless it
  has `continue`, in which case the next siblings are tried as well. When no child
  matches, the node itself takes it.
- The root is implicit: it matches every alert and holds the defaults (group by model,
  30s, 5m, 4h) and no channels, so an alert no top-level policy takes notifies nobody.
- A policy's unset `group_by`, timings and channels are its parent's.
- Mute timings (weekly windows) hold a policy's notifications back, not its grouping.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MATCHER_KEYS = ("model", "tags", "severity", "kind")
GROUP_LABELS = ("model", "rule", "severity", "kind", "version", "feature")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_GROUP_BY = ("model",)
DEFAULT_GROUP_WAIT, DEFAULT_GROUP_INTERVAL, DEFAULT_REPEAT = 30, 300, 4 * 3600


@dataclass(frozen=True)
class Node:
    """One policy as plain data (None / empty: inherited from the parent)."""

    id: int | None = None
    name: str = "root"
    matchers: dict = field(default_factory=dict)
    channels: tuple = ()
    group_by: tuple | None = None
    group_wait: int | None = None
    group_interval: int | None = None
    repeat_interval: int | None = None
    continue_matching: bool = False
    mute_timings: tuple = ()
    children: tuple = ()


ROOT = Node(
    group_by=DEFAULT_GROUP_BY,
    group_wait=DEFAULT_GROUP_WAIT,
    group_interval=DEFAULT_GROUP_INTERVAL,
    repeat_interval=DEFAULT_REPEAT,
)


@dataclass(frozen=True)
class Match:
    """Where one alert goes: a policy's channels, in the group `group_key`."""

    policy_id: int | None
    channels: tuple
    group_key: str
    group_labels: dict
    group_wait: int
    group_interval: int
    repeat_interval: int
    mute_timings: tuple


def alert_labels(*, model, tags=(), severity, kind, rule, version=None, feature="") -> dict:
    """The labels routing, grouping and inhibition read (`rule` is the rule's id)."""
    return {
        "model": str(model),
        "tags": tuple(str(t) for t in tags or ()),
        "severity": str(severity),
        "kind": str(kind),
        "rule": str(rule),
        "version": "" if version is None else str(version),
        "feature": feature or "",
    }


def matches(matchers: dict, labels: dict) -> bool:
    """Keys AND-ed, values OR-ed; `tags` matches when any listed tag is the model's."""
    for key, wanted in (matchers or {}).items():
        if not wanted:
            continue
        if key == "tags":
            if not set(wanted) & set(labels.get("tags", ())):
                return False
        elif labels.get(key) not in {str(v) for v in wanted}:
            return False
    return True


def inherit(child: Node, parent: Node) -> Node:
    """The child with its unset settings taken from its (already resolved) parent."""
    return replace(
        child,
        channels=child.channels or parent.channels,
        group_by=parent.group_by if child.group_by is None else child.group_by,
        group_wait=parent.group_wait if child.group_wait is None else child.group_wait,
        group_interval=(
            parent.group_interval if child.group_interval is None else child.group_interval
        ),
        repeat_interval=(
            parent.repeat_interval if child.repeat_interval is None else child.repeat_interval
        ),
        mute_timings=child.mute_timings or parent.mute_timings,
    )


def sibling_order(nodes) -> tuple:
    """Policies with matchers first, then the catch-alls, each by id."""
    return tuple(sorted(nodes, key=lambda n: (not any(n.matchers.values()), n.id or 0)))


def route(labels: dict, tree: Node = ROOT) -> list[Match]:
    """Every policy that takes this alert (several with `continue`), with channels."""
    return [as_match(node, labels) for node in _walk(tree, labels) if node.channels]


def _walk(node: Node, labels: dict) -> list[Node]:
    taken, matched = [], False
    for child in sibling_order(node.children):
        child = inherit(child, node)
        if not matches(child.matchers, labels):
            continue
        taken += _walk(child, labels)
        matched = True
        if not child.continue_matching:
            break
    return taken if matched else [node]


def group_key(policy_id: int | None, group_by, labels: dict) -> tuple[str, dict]:
    """(`policy:<id>|model=fraud|…`, {"model": "fraud", …}) of one alert under a policy."""
    chosen = {name: labels.get(name, "") for name in group_by}
    key = "|".join([f"policy:{policy_id}"] + [f"{k}={v}" for k, v in chosen.items()])
    return key, chosen


def as_match(node: Node, labels: dict) -> Match:
    key, chosen = group_key(node.id, node.group_by or (), labels)
    return Match(
        policy_id=node.id,
        channels=tuple(node.channels),
        group_key=key,
        group_labels=chosen,
        group_wait=int(node.group_wait),
        group_interval=int(node.group_interval),
        repeat_interval=int(node.repeat_interval),
        mute_timings=tuple(node.mute_timings),
    )


def build_tree(rows: list[dict]) -> Node:
    """The tree under the implicit root from flat rows ({"id", "parent", "name",
    "matchers", "channels", "group_by", ..., "continue_matching", "mute_timings"})."""
    by_parent: dict = {}
    for row in rows:
        by_parent.setdefault(row.get("parent"), []).append(row)

    def node(row: dict, seen: frozenset) -> Node:
        kids = [node(r, seen | {row["id"]}) for r in by_parent.get(row["id"], [])]
        return Node(
            id=row["id"],
            name=row.get("name", ""),
            matchers=dict(row.get("matchers") or {}),
            channels=tuple(row.get("channels") or ()),
            group_by=None if row.get("group_by") is None else tuple(row["group_by"]),
            group_wait=row.get("group_wait"),
            group_interval=row.get("group_interval"),
            repeat_interval=row.get("repeat_interval"),
            continue_matching=bool(row.get("continue_matching")),
            mute_timings=tuple(row.get("mute_timings") or ()),
            children=tuple(k for k in kids if k.id not in seen),
        )

    return replace(ROOT, children=tuple(node(r, frozenset()) for r in by_parent.get(None, [])))


# Mute timings -----------------------------------------------------------------------


def parse_clock(text: str) -> time:
    hours, minutes = str(text).split(":")
    if hours == "24" and minutes == "00":
        return time.max
    return time(int(hours), int(minutes))


def in_window(window: dict, now: datetime) -> bool:
    """Whether `now` falls in one weekly window; an `end` before `start` runs past
    midnight into the next day (the window belongs to the day it starts)."""
    local = now.astimezone(ZoneInfo(window.get("timezone") or "UTC"))
    days = {WEEKDAYS.index(d) for d in window.get("weekdays") or WEEKDAYS}
    start = parse_clock(window.get("start") or "00:00")
    end = parse_clock(window.get("end") or "24:00")
    clock = local.time()
    if start <= end:
        return local.weekday() in days and start <= clock < end
    if clock >= start:
        return local.weekday() in days
    return (local - timedelta(days=1)).weekday() in days and clock < end


def is_muted(timings, now: datetime) -> bool:
    """Whether any of a policy's mute timings covers `now`."""
    return any(in_window(window, now) for window in timings or ())


# Validation (shared by the API and the admin) -----------------------------------------


def matcher_errors(matchers) -> list[str]:
    """What is wrong with a matchers object ([] when it is valid)."""
    if not isinstance(matchers, dict):
        return ['Expected an object such as {"model": ["fraud"], "severity": ["critical"]}.']
    errors = [
        f'Unknown matcher "{key}". Known: {", ".join(MATCHER_KEYS)}.'
        for key in matchers
        if key not in MATCHER_KEYS
    ]
    for key, values in matchers.items():
        if key in MATCHER_KEYS and not (
            isinstance(values, list) and all(isinstance(v, str) and v for v in values)
        ):
            errors.append(f'"{key}" must be a list of names.')
    return errors


def group_by_errors(group_by) -> list[str]:
    if not isinstance(group_by, list) or not all(isinstance(v, str) for v in group_by):
        return ["Expected a list of label names."]
    unknown = [v for v in group_by if v not in GROUP_LABELS]
    if unknown:
        return [f'Unknown label "{unknown[0]}". Known: {", ".join(GROUP_LABELS)}.']
    return []


def mute_timing_errors(timings) -> list[str]:
    """What is wrong with a list of weekly windows ([] when valid)."""
    if not isinstance(timings, list):
        return ['Expected a list such as [{"weekdays": ["sat", "sun"]}].']
    errors = []
    for index, window in enumerate(timings):
        errors += [f"{index}: {e}" for e in window_errors(window)]
    return errors


def window_errors(window) -> list[str]:
    if not isinstance(window, dict):
        return ['Expected {"weekdays", "start", "end", "timezone"}.']
    errors = [f'Unknown field "{k}".' for k in window if k not in _WINDOW_KEYS]
    days = window.get("weekdays", list(WEEKDAYS))
    if not isinstance(days, list) or any(d not in WEEKDAYS for d in days):
        errors.append(f"weekdays: a list of {', '.join(WEEKDAYS)}.")
    for key in ("start", "end"):
        if key in window and not _is_clock(window[key]):
            errors.append(f'{key}: "{window[key]}" is not a time of day (HH:MM, 00:00-24:00).')
    try:
        ZoneInfo(window.get("timezone") or "UTC")
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        errors.append(f'timezone: "{window.get("timezone")}" is not a known time zone.')
    return errors


_WINDOW_KEYS = ("weekdays", "start", "end", "timezone")


def _is_clock(text) -> bool:
    try:
        parse_clock(text)
    except (ValueError, TypeError):
        return False
    return True
