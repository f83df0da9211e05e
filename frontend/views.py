"""Dashboard pages (server-rendered) and one JSON endpoint per figure for the 30 s refresh."""

import json
from datetime import UTC, datetime
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from access.roles import EDIT, editable_model_ids, has_model_perm, visible_models
from access.scoping import scoped
from alerts_app import kinds
from alerts_app.models import Alert, AlertRule, CheckResult, Severity
from frontend import alert_page, distributions, evaluations, listings
from frontend.figures import (
    MODEL_FIGURES,
    RULE_FIGURES,
    Selection,
    chosen_feature,
    drift_cell_figure,
    sections,
)
from frontend.plotly_text import figure_json
from frontend.ranges import (
    LEAD_RESULTS,
    PRESETS,
    RangeError,
    TimeRange,
    around,
    iso,
    parse_moment,
    parse_range,
)
from frontend.segment_rows import segment_breakdown
from models_app.models import ModelVersion

REFRESH_SECONDS = 30
NOTE_MAX = 2000


def login_required_json(view):
    """Like login_required, but answers 401 JSON instead of redirecting a fetch()."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return JsonResponse({"detail": "Authentication required."}, status=401)
        return view(request, *args, **kwargs)

    return wrapper


def error_page(request, status: int, message: str = "", **context) -> HttpResponse:
    """The 404 / 400 page in the dashboards' layout."""
    return render(request, f"{status}.html", {"message": message, **context}, status=status)


def html_errors(view):
    """A page answers an unknown object or a bad range with an HTML page in the layout.

    Caught here rather than left to handler404, because with DJANGO_DEBUG=1 Django shows
    its technical 404 page instead of calling the handler.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return error_page(request, 404)
        except RangeError as error:
            return error_page(request, 400, str(error), retry_url=request.path)

    return wrapper


def figure_response(fig) -> HttpResponse:
    response = HttpResponse(figure_json(fig), content_type="application/json")
    response["Cache-Control"] = "private, no-cache"
    return response


def bad_range(error: RangeError) -> HttpResponseBadRequest:
    body = json.dumps({error.field: [str(error)]})
    return HttpResponseBadRequest(body, content_type="application/json")


def selection(request, name: str, anchor_to_data: bool = True) -> Selection:
    model = get_object_or_404(visible_models(request.user), name=name)
    version = None
    if request.GET.get("version"):
        version = get_object_or_404(ModelVersion, model=model, version=request.GET["version"])
    anchor = model.last_seen_at if anchor_to_data else None
    window = parse_range(request.GET, timezone.now(), anchor=anchor)
    return Selection(model, version, window, dict(request.GET.items()))


def records(frame) -> list[dict]:
    """DataFrame rows for a template, with None (not NaN) where a value is missing."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def range_context(window: TimeRange) -> dict:
    return {
        "window": window,
        "presets": list(PRESETS),
        "start_value": iso(window.start)[:16],
        "end_value": iso(window.end)[:16],
        "refresh_seconds": REFRESH_SECONDS,
    }


@login_required
@require_GET
def overview(request):
    models = list(visible_models(request.user))
    search, tag = request.GET.get("q", ""), request.GET.get("tag", "")
    rows = listings.model_rows(listings.filter_models(models, search, tag), timezone.now())
    return render(
        request,
        "frontend/overview.html",
        {
            "rows": rows,
            "search": search,
            "tag": tag,
            "tags": listings.all_tags(models),
            "counts": listings.health_counts(rows),
            "total": len(models),
            "refresh_seconds": REFRESH_SECONDS,
        },
    )


STATE_ORDER = {"firing": 0, "pending": 1}


def alerts_by_rule(alerts: list[Alert]) -> list[dict]:
    """Active alerts grouped by rule (one row each, per-feature alerts listed together),
    firing before pending, then by onset."""
    rows: dict[int, dict] = {}
    for alert in alerts:
        row = rows.setdefault(alert.rule_id, {"rule": alert.rule, "alerts": []})
        row["alerts"].append(alert)
    for row in rows.values():
        row["alerts"].sort(key=lambda a: (STATE_ORDER.get(a.state, 2), a.feature))
        row["state"] = row["alerts"][0].state
        row["since"] = min(
            a.started_at or a.pending_since or a.last_evaluated for a in row["alerts"]
        )
        row["unacknowledged"] = [a.pk for a in row["alerts"] if not a.acknowledged_at]
        row["per_feature"] = any(a.feature for a in row["alerts"])
    return sorted(rows.values(), key=lambda r: (STATE_ORDER.get(r["state"], 2), r["since"]))


def alert_window(request, sel: Selection) -> int | None:
    """`?alert=<id>` without an explicit range: frame the window on that alert's onset
    (ranges.around, reaching back LEAD_RESULTS of its rule's results). Answers the id."""
    if not request.GET.get("alert", "").isdigit() or any(
        request.GET.get(k) for k in ("range", "start", "end")
    ):
        return None
    alert = (
        scoped(Alert.objects.select_related("rule"), request.user)
        .filter(pk=int(request.GET["alert"]), rule__model=sel.model)
        .first()
    )
    if alert is None:
        raise Http404("No such alert on this model.")
    now = timezone.now()
    onset = alert.started_at or alert.pending_since or alert.last_evaluated or now
    if alert.pending_since and alert.pending_since < onset:
        onset = alert.pending_since
    before = (
        CheckResult.objects.filter(rule_id=alert.rule_id, evaluated_at__lt=onset)
        .order_by("-evaluated_at")
        .values_list("evaluated_at", flat=True)[:LEAD_RESULTS]
    )
    end = alert.resolved_at if alert.state == "resolved" else None
    sel.window = around(onset, end, now, earlier=list(before)[-1] if before else None)
    return alert.pk


@login_required
@require_GET
@html_errors
def model_page(request, name: str):
    sel = selection(request, name)
    highlighted = alert_window(request, sel)
    active = list(
        listings.alert_queryset()
        .filter(rule__model=sel.model, state__in=["firing", "pending"])
        .order_by("-state", "-started_at")
    )
    metrics = sel.metric_list()
    feature, _ = chosen_feature(sel)
    has = sections(sel)
    return render(
        request,
        "frontend/model.html",
        {
            "model": sel.model,
            "version": sel.version,
            "versions": sel.model.versions.all(),
            "metrics": metrics[:24],
            "more_metrics": max(0, len(metrics) - 24),
            "features": distributions.feature_names(
                sel.model, sel.version or sel.model.latest_version()
            ),
            "feature": feature,
            "active_alerts": active,
            "alert_rows": alerts_by_rule(active),
            "segmented": segment_breakdown(sel.model),
            "highlighted": highlighted,
            "has": has,
            "training_first": has["training"] and not has["serving"],
            "editable": {sel.model.pk} if has_model_perm(request.user, EDIT, sel.model) else set(),
            "health": listings.health([a.rule.severity for a in active if a.state == "firing"]),
            "query": sel.window.querystring(version=sel.version.version if sel.version else ""),
            **range_context(sel.window),
        },
    )


def cell_time(value: str):
    """A cell's time as the browser sends it: Plotly's date string (UTC) or epoch ms."""
    try:
        return datetime.fromtimestamp(float(value) / 1000.0, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return parse_moment(value, "at")


@login_required_json
@require_GET
def drift_cell(request, name: str):
    """The distribution behind one drift heatmap cell (`?feature=&at=` plus the page's
    range): a figure JSON, 404 JSON for an unknown feature or bucket."""
    try:
        sel = selection(request, name)
        if not request.GET.get("at"):
            raise RangeError("at", "at (the cell's time) is required.")
        at = cell_time(request.GET["at"])
    except RangeError as error:
        return bad_range(error)
    fig = drift_cell_figure(sel, request.GET.get("feature", ""), at)
    if fig is None:
        return JsonResponse(
            {"detail": "No drift result for that feature in that bucket."}, status=404
        )
    return figure_response(fig)


@login_required
@require_POST
def acknowledge_rule_alerts(request, name: str):
    """Acknowledge the listed active alerts of one model (a rule row of the model page:
    its per-feature alerts at once). Editors of the model and staff."""
    model = get_object_or_404(visible_models(request.user), name=name)
    if not has_model_perm(request.user, EDIT, model):
        raise PermissionDenied("Acknowledging needs the editor role on the model.")
    ids = [int(v) for v in request.POST.getlist("alert") if v.isdigit()]
    alerts = Alert.objects.filter(pk__in=ids, rule__model=model).select_related("rule")
    now, note = timezone.now(), request.POST.get("note", "").strip()[:NOTE_MAX]
    done = [a for a in alerts if listings.acknowledge(a.pk, request.user, now, note)]
    if done:
        names = sorted({a.rule.name for a in done})
        messages.success(
            request,
            f"Acknowledged {len(done)} alert{pluralize(len(done))} of “{', '.join(names)}”.",
        )
    else:
        messages.info(request, "Nothing to acknowledge: already acknowledged or not active.")
    return redirect(f"/models/{model.name}/")


@login_required_json
@require_GET
def model_figure(request, name: str, figure: str):
    build = MODEL_FIGURES.get(figure)
    if build is None:
        raise Http404(f"No figure {figure!r}.")
    try:
        sel = selection(request, name)
    except RangeError as error:
        return bad_range(error)
    return figure_response(build(sel))


@login_required
@require_GET
def alerts_page(request):
    state = request.GET.get("state", "")
    severity, model = request.GET.get("severity", ""), request.GET.get("model", "")
    now = timezone.now()
    visible = visible_models(request.user)
    alerts = scoped(listings.filtered_alerts(state, severity, model), request.user)
    return render(
        request,
        "frontend/alerts.html",
        {
            "sections": listings.alert_sections(alerts, state, now),
            "state": state,
            "severity": severity,
            "model_name": model,
            "states": listings.ALERT_STATES,
            "severities": Severity.values,
            "model_names": visible.values_list("name", flat=True),
            "editable": editable_model_ids(request.user),
            "refresh_seconds": REFRESH_SECONDS,
        },
    )


@login_required
@require_POST
def acknowledge(request, pk: int):
    alert = get_object_or_404(
        scoped(Alert.objects.select_related("rule__model"), request.user), pk=pk
    )
    if not has_model_perm(request.user, EDIT, alert.rule.model):
        raise PermissionDenied("Acknowledging needs the editor role on the model.")
    note = request.POST.get("note", "").strip()[:NOTE_MAX]
    if listings.acknowledge(alert.pk, request.user, timezone.now(), note):
        messages.success(request, f"Acknowledged “{alert.rule.name}”.")
    else:
        messages.info(request, f"“{alert.rule.name}” was already acknowledged or is not active.")
    return redirect(safe_next(request, "/alerts/"))


def safe_next(request, default: str) -> str:
    """The form's `next` when it is a URL of this site, else `default`."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def visible_rule(request, pk: int) -> AlertRule:
    return get_object_or_404(scoped(AlertRule.objects.select_related("model"), request.user), pk=pk)


@login_required
@require_GET
@html_errors
def rule_page(request, pk: int):
    rule = visible_rule(request, pk)
    now = timezone.now()
    window = parse_range(request.GET, now, anchor=rule.last_run_at)
    result = alert_page.rule_explaining_result(rule)
    causes = alert_page.causes_of(result.details if result else {})
    alerts = listings.alert_queryset().filter(rule=rule).order_by("-last_evaluated")[:50]
    groups = listings.linked_groups(alerts, now)
    url = reverse("frontend:rule-figure", args=[rule.pk, "distribution"])
    return render(
        request,
        "frontend/rule.html",
        {
            "rule": rule,
            "config": json.dumps(rule.config, indent=2, sort_keys=True),
            "is_drift": kinds.kind_of(rule.kind).figure == "drift",
            "group": groups[0] if groups else None,
            "result": result,
            "causes": causes,
            "evidence": alert_page.result_window(rule, result, now),
            "distributions": alert_page.distribution_cards(url, causes),
            "can_act": has_model_perm(request.user, EDIT, rule.model),
            "transitions": records(evaluations.transitions_frame(rule)),
            "latest": rule.results.order_by("-evaluated_at", "-id").first(),
            "query": window.querystring(),
            **range_context(window),
        },
    )


@login_required_json
@require_GET
def rule_figure(request, pk: int, figure: str):
    rule = visible_rule(request, pk)
    if figure == "distribution":
        result = alert_page.rule_explaining_result(rule)
        feature, now = request.GET.get("feature", ""), timezone.now()
        return figure_response(
            alert_page.legend_at_the_bottom(
                alert_page.result_distribution(rule, None, result, feature, now)
            )
        )
    build = RULE_FIGURES.get(figure)
    if build is None:
        raise Http404(f"No figure {figure!r}.")
    try:
        window = parse_range(request.GET, timezone.now(), anchor=rule.last_run_at)
    except RangeError as error:
        return bad_range(error)
    return figure_response(build(rule, window))


@login_required
@require_POST
def acknowledge_rule(request, pk: int):
    """Acknowledge every active alert of the rule (its per-feature alerts together)."""
    rule = visible_rule(request, pk)
    if not has_model_perm(request.user, EDIT, rule.model):
        raise PermissionDenied("Acknowledging needs the editor role on the model.")
    note = request.POST.get("note", "").strip()[:NOTE_MAX]
    count = listings.acknowledge_rule(rule, request.user, timezone.now(), note)
    if count:
        messages.success(request, f"Acknowledged {count} alert{pluralize(count)} of “{rule.name}”.")
    else:
        messages.info(request, f"“{rule.name}” has no active alert left to acknowledge.")
    return redirect(safe_next(request, reverse("frontend:rule", args=[rule.pk])))
