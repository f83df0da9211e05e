"""Links from the admin's rule and channel pages to the dashboards (docs/dashboards.md)
and to the history behind them.

Rule: its rule page `/rules/<id>/`, its model page `/models/<name>/`, each open (pending
or firing) alert's page `/alerts/<id>/`. Channel: the rules that send to it (each with
its rule page and its admin page) and its latest deliveries (each with its alert page).
Every helper answers escaped HTML for a read-only admin field.
"""

from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from alerts_app.models import Alert, AlertRule, AlertState, Channel, Delivery

RECENT_DELIVERIES = 10


def rule_page_url(rule: AlertRule) -> str:
    return reverse("frontend:rule", args=[rule.pk])


def model_page_url(rule: AlertRule) -> str:
    return reverse("frontend:model", args=[rule.model.name])


def alert_page_url(alert_id: int) -> str:
    return reverse("frontend:alert", args=[alert_id])


def when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def rule_dashboard_links(rule: AlertRule) -> str:
    """ "Rule page · Model page (fraud)", each a link to the dashboard."""
    return format_html(
        '<a href="{}">Rule page</a> · <a href="{}">Model page ({})</a>',
        rule_page_url(rule),
        model_page_url(rule),
        rule.model.name,
    )


def open_alerts(rule: AlertRule) -> list[Alert]:
    states = [AlertState.FIRING, AlertState.PENDING]
    return list(rule.alerts.filter(state__in=states).order_by("-changed_at", "-id"))


def open_alert_links(rule: AlertRule) -> str:
    """One line per pending or firing alert: its state, feature and onset, linked."""
    alerts = open_alerts(rule)
    if not alerts:
        return format_html("<span>{}</span>", "No pending or firing alert.")
    return format_html(
        '<ul class="mw-links">{}</ul>',
        format_html_join(
            "",
            '<li><a href="{}">Alert #{}</a>: {}{} since {}</li>',
            (
                (
                    alert_page_url(a.id),
                    a.id,
                    a.state,
                    f" (feature {a.feature})" if a.feature else "",
                    when(a.started_at or a.pending_since),
                )
                for a in alerts
            ),
        ),
    )


def channel_rule_links(channel: Channel) -> str:
    """The rules that send to `channel`: name and model, rule page and admin page."""
    rules = list(channel.rules.select_related("model").order_by("model__name", "name"))
    if not rules:
        return format_html("<span>{}</span>", "No rule sends to this channel.")
    return format_html(
        '<ul class="mw-links">{}</ul>',
        format_html_join(
            "",
            '<li>{} on {}: <a href="{}">rule page</a> · <a href="{}">edit</a></li>',
            (
                (
                    rule.name,
                    rule.model.name,
                    rule_page_url(rule),
                    reverse("admin:alerts_app_alertrule_change", args=[rule.pk]),
                )
                for rule in rules
            ),
        ),
    )


def recent_deliveries(channel: Channel) -> list[Delivery]:
    return list(
        Delivery.objects.filter(channel=channel)
        .select_related("transition__alert__rule")
        .order_by("-created_at", "-id")[:RECENT_DELIVERIES]
    )


def delivery_links(channel: Channel) -> str:
    """The latest deliveries (when, status, event, alert page, error) and a link to all."""
    every = reverse("admin:alerts_app_delivery_changelist") + f"?channel__id__exact={channel.pk}"
    deliveries = recent_deliveries(channel)
    if not deliveries:
        return format_html("<span>{}</span>", "Nothing sent to this channel yet.")
    rows = format_html_join(
        "",
        '<li>{} {}: {} of <a href="{}">alert #{}</a> ({}){}</li>',
        (
            (
                when(d.created_at),
                d.status,
                d.transition.event,
                alert_page_url(d.transition.alert_id),
                d.transition.alert_id,
                d.transition.alert.rule.name,
                f" — {d.error}" if d.error else "",
            )
            for d in deliveries
        ),
    )
    return format_html(
        '<ul class="mw-links">{}</ul><a href="{}">All deliveries of this channel</a>', rows, every
    )
