"""The admin's "Evaluate now" page: each rule evaluated with `evaluate.evaluate_now`
(stored, applied to its alerts, as the API does), its result explained
(`admin_results`), what its alerts did and the notifications queued, or why nothing
was stored; and the message that says what that meant.
"""

from django.core.exceptions import ValidationError
from django.urls import reverse

from alerts_app import admin_links
from alerts_app.admin_results import badge, explain
from alerts_app.evaluate import Evaluation, RuleDisabled, evaluate_now
from alerts_app.models import AlertRule, AlertTransition, Delivery


def evaluation_row(rule: AlertRule) -> dict:
    """One rule's "Evaluate now": the stored result explained and what its alerts did, or
    why nothing was stored."""
    row = {"rule": rule, "url": reverse("admin:alerts_app_alertrule_change", args=[rule.id])}
    try:
        done = evaluate_now(rule.id)
    except RuleDisabled as exc:
        return row | {"status": "error", "error": str(exc)}
    except AlertRule.DoesNotExist:
        return row | {"status": "error", "error": "The rule was deleted meanwhile."}
    except ValidationError as exc:
        return row | {"status": "error", "error": f"Invalid stored config: {exc.messages}"}
    except Exception as exc:  # shown to the user; the dispatcher would store an error result
        return row | {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
    return row | result_row(done)


def result_row(done: Evaluation) -> dict:
    result = done.result
    return {
        "status": result.status,
        "badge": badge(result.status),
        "result": result,
        "result_url": reverse("admin:alerts_app_checkresult_change", args=[result.id]),
        "rule_page": admin_links.rule_page_url(result.rule),
        "version": result.version,
        "explained": explain(
            result.status, result.value, result.threshold, result.details, result.rule.config
        ),
        "changes": [transition_line(t) for t in done.transitions],
    }


def transition_line(transition: AlertTransition) -> dict:
    """An alert's move in words, with its page and the notifications it queued."""
    alert = transition.alert
    deliveries = list(transition.deliveries.values_list("status", flat=True))
    queued = deliveries.count(Delivery.Status.PENDING)
    muted = deliveries.count(Delivery.Status.MUTED)
    feature = f" (feature {alert.feature})" if alert.feature else ""
    notes = [f"{queued} notification(s) queued"] if queued else []
    notes += [f"{muted} muted by a silence"] if muted else []
    return {
        "text": f"Alert #{alert.id}{feature}: {transition.old} → {transition.new}",
        "notes": ", ".join(notes) or "nobody notified",
        "url": admin_links.alert_page_url(alert.id),
        "queued": queued,
    }


def evaluation_message(rows: list[dict]) -> str:
    stored = [row for row in rows if "result" in row]
    moves = sum(len(row["changes"]) for row in stored)
    queued = sum(change["queued"] for row in stored for change in row["changes"])
    failed = len(rows) - len(stored)
    return (
        f"Evaluated {len(stored)} rule(s) now: each result is stored in the rule's history "
        f"and applied to its alerts, as a scheduled evaluation would be. {moves} alert(s) "
        f"changed state; {queued} notification(s) queued."
        + (f" {failed} rule(s) could not be evaluated: nothing stored for them." if failed else "")
    )
