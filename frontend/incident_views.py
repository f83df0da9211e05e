"""The incident page (/incidents/{id}/): its alerts with their causes, its timeline,
acknowledge (which acknowledges its firing alerts too) and silence (its rules)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from access.roles import EDIT, has_model_perm, is_unrestricted, visible_models
from alerts_app import lifecycle
from alerts_app.inhibition import inhibition_text, inhibitor_of
from alerts_app.models import Incident, Silence
from frontend import alert_page
from frontend.alert_views import silence_from_form
from frontend.views import REFRESH_SECONDS, html_errors

NOTE_MAX = 2000


def visible_incident(request, pk: int) -> Incident:
    found = Incident.objects.select_related("policy", "model", "acknowledged_by")
    if not is_unrestricted(request.user):
        found = found.filter(model__in=visible_models(request.user).values("pk"))
    return get_object_or_404(found, pk=pk)


def member_rows(incident: Incident) -> list[dict]:
    """Each alert of the incident: state, causes of its breaking result, inhibition mark."""
    rows = []
    members = incident.members.select_related("alert__rule__model", "alert__version")
    for member in members.order_by("resolved_at", "joined_at"):
        alert = member.alert
        result = alert_page.explaining_result(alert)
        inhibitor = inhibitor_of(alert) if member.resolved_at is None else None
        rows.append(
            {
                "alert": alert,
                "member": member,
                "causes": alert_page.causes_of(result.details if result else {}, alert.feature)[:5],
                "inhibited": inhibition_text(inhibitor) if inhibitor else "",
            }
        )
    return rows


def timeline(incident: Incident) -> list[dict]:
    """Joins, leaves and notifications, oldest first."""
    events = [{"at": incident.started_at, "what": "opened"}]
    for member in incident.members.select_related("alert__rule"):
        events.append({"at": member.joined_at, "what": f"{member.alert.rule.name} joined"})
        if member.resolved_at:
            events.append({"at": member.resolved_at, "what": f"{member.alert.rule.name} resolved"})
    for note in incident.notifications.prefetch_related("deliveries__channel"):
        sent = ", ".join(f"{d.channel.name}: {d.status}" for d in note.deliveries.all())
        events.append({"at": note.created_at, "what": f"notified ({note.event}) {sent}"})
    if incident.acknowledged_at:
        events.append({"at": incident.acknowledged_at, "what": "acknowledged"})
    if incident.resolved_at:
        events.append({"at": incident.resolved_at, "what": "resolved"})
    return sorted(events, key=lambda e: e["at"])


def may_act(user, incident: Incident) -> bool:
    if is_unrestricted(user):
        return True
    return incident.model is not None and has_model_perm(user, EDIT, incident.model)


@login_required
@require_GET
@html_errors
def incident_detail(request, pk: int):
    incident = visible_incident(request, pk)
    return render(
        request,
        "frontend/incident.html",
        {
            "incident": incident,
            "rows": member_rows(incident),
            "timeline": timeline(incident),
            "can_act": may_act(request.user, incident),
            "silences": Silence.objects.filter(
                matchers=incident_matchers(incident), ends_at__gt=timezone.now()
            ),
            "refresh_seconds": REFRESH_SECONDS,
        },
    )


@login_required
@require_POST
def acknowledge_incident(request, pk: int):
    incident = visible_incident(request, pk)
    if not may_act(request.user, incident):
        raise PermissionDenied("Acknowledging needs the editor role on the model.")
    note = request.POST.get("note", "").strip()[:NOTE_MAX]
    if lifecycle.acknowledge_incident(incident.pk, request.user, timezone.now(), note):
        messages.success(request, f"Acknowledged incident #{incident.pk} and its alerts.")
    else:
        messages.info(request, f"Incident #{incident.pk} is resolved.")
    return redirect("frontend:incident", pk=incident.pk)


def incident_matchers(incident: Incident) -> dict:
    """What silencing an incident mutes: the rules of its alerts (those that joined so far)."""
    rules = sorted(set(incident.members.values_list("alert__rule_id", flat=True)))
    return {"rule": rules}


@login_required
@require_POST
def silence_incident(request, pk: int):
    """Silence the incident's rules for 1 h, 24 h or until a chosen end (editors, staff):
    one silence with a `rule` matcher, as the silences API would make it."""
    incident = visible_incident(request, pk)
    if not may_act(request.user, incident):
        raise PermissionDenied("Silencing needs the editor role on the model.")
    made = silence_from_form(
        request, f"incident {incident.pk}", matchers=incident_matchers(incident)
    )
    if made is not None:
        messages.success(
            request,
            f"Silenced incident #{incident.pk}'s rules until {made.ends_at:%Y-%m-%d %H:%M} UTC.",
        )
    return redirect("frontend:incident", pk=incident.pk)


urlpatterns = [  # spliced into frontend/urls.py
    path("incidents/<int:pk>/", incident_detail, name="incident"),
    path("incidents/<int:pk>/acknowledge/", acknowledge_incident, name="incident-acknowledge"),
    path("incidents/<int:pk>/silence/", silence_incident, name="incident-silence"),
]
