"""The alert page (what, when, why, history, actions), its figures, and the rules list."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from access.roles import EDIT, has_model_perm
from access.scoping import scoped
from alerts_app.models import Alert, AlertRule, AlertState, Silence
from frontend import alert_page, listings, rule_rows
from frontend.figures import rule_history_figure
from frontend.views import (
    REFRESH_SECONDS,
    figure_response,
    html_errors,
    login_required_json,
)

SILENCE_COMMENT_MAX = 2000


def visible_alert(request, pk: int) -> Alert:
    alerts = Alert.objects.select_related("rule__model", "version", "acknowledged_by")
    return get_object_or_404(scoped(alerts, request.user), pk=pk)


def explanation(alert: Alert) -> dict:
    """The explaining result, its causes and the top features to draw."""
    result = alert_page.explaining_result(alert)
    causes = alert_page.causes_of(result.details if result else {}, alert.feature)
    url = reverse("frontend:alert-figure", args=[alert.pk, "distribution"])
    return {
        "result": result,
        "causes": causes,
        "distributions": alert_page.distribution_cards(url, causes),
    }


@login_required
@require_GET
@html_errors
def alert_detail(request, pk: int):
    alert = visible_alert(request, pk)
    now = timezone.now()
    editor = has_model_perm(request.user, EDIT, alert.rule.model)
    why = explanation(alert)
    evidence = alert_page.evidence_window(alert, why["result"], now)
    return render(
        request,
        "frontend/alert.html",
        {
            "alert": alert,
            "rule": alert.rule,
            "model": alert.rule.model,
            **why,
            "onset": alert_page.onset(alert),
            "in_words": alert_page.value_in_words(alert),
            "window": alert_page.when_window(alert, now),
            "evidence": evidence,
            "history": alert_page.history(alert, request.user),
            "older": max(0, alert.transitions.count() - alert_page.HISTORY_ROWS),
            "model_link": listings.alert_link(alert, now),
            "siblings": siblings(alert, now),
            "silences": alert_page.active_silences(alert, now),
            "can_act": editor,
            "active": alert.state in (AlertState.PENDING, AlertState.FIRING),
            "refresh_seconds": REFRESH_SECONDS,
        },
    )


def siblings(alert: Alert, now):
    """The alerts of the same rule (its per-feature alerts), when there are others."""
    alerts = listings.alert_queryset().filter(rule_id=alert.rule_id).order_by("feature", "id")
    groups = listings.linked_groups(alerts[:100], now)
    return groups[0] if groups and len(groups[0].alerts) > 1 else None


@login_required_json
@require_GET
def alert_figure(request, pk: int, figure: str):
    alert = visible_alert(request, pk)
    now = timezone.now()
    if figure == "history":
        fig = rule_history_figure(alert.rule, alert_page.when_window(alert, now))
    elif figure == "distribution":
        fig = distribution(alert, request.GET.get("feature", ""), now)
    else:
        raise Http404(f"No figure {figure!r}.")
    return figure_response(alert_page.legend_at_the_bottom(fig))


def distribution(alert: Alert, feature: str, now):
    """The feature's reference vs the window the explaining result read."""
    result = alert_page.explaining_result(alert)
    fallback_end = alert.last_evaluated or now
    return alert_page.result_distribution(alert.rule, alert.version, result, feature, fallback_end)


def silence_from_form(request, made_from: str, **target) -> Silence | None:
    """The silence a page's form asks for (1 h, 24 h or until a chosen end) of `target`
    (`rule=` or `matchers=`), from now; None, with the reason as a message, when the end
    is not valid. Shared by the alert and incident pages."""
    now = timezone.now()
    try:
        end = alert_page.silence_end(
            request.POST.get("duration", ""), request.POST.get("until", ""), now
        )
    except ValueError as error:
        messages.error(request, str(error))
        return None
    comment = request.POST.get("comment", "").strip()[:SILENCE_COMMENT_MAX]
    return Silence.objects.create(
        starts_at=now,
        ends_at=end,
        created_by=request.user,
        comment=comment or f"Silenced from {made_from} by {request.user.get_username()}.",
        **target,
    )


@login_required
@require_POST
def silence(request, pk: int):
    """Silence the alert's rule for 1 h, 24 h or until a chosen end (editors and staff)."""
    alert = visible_alert(request, pk)
    if not has_model_perm(request.user, EDIT, alert.rule.model):
        raise PermissionDenied("Silencing needs the editor role on the model.")
    made = silence_from_form(request, f"alert {alert.pk}", rule=alert.rule)
    if made is not None:
        messages.success(
            request, f"Silenced “{alert.rule.name}” until {made.ends_at:%Y-%m-%d %H:%M} UTC."
        )
    return redirect("frontend:alert", pk=alert.pk)


@login_required
@require_GET
def rules_page(request):
    rules = scoped(AlertRule.objects.all(), request.user)
    return render(
        request,
        "frontend/rules.html",
        {
            "rows": rule_rows.rule_rows(rules, timezone.now()),
            "spark_hours": rule_rows.SPARK_HOURS,
            "refresh_seconds": REFRESH_SECONDS,
        },
    )
