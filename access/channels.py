"""Who may route notifications to which channel, and who may read where they went.

Channels are managed by staff. A channel is *shared* with some models (or with every
model); a non-staff user may then
- route a model's notifications to it (a rule's `channels`; notification policies use the
  same function) when they hold the editor role on that model and the channel is shared
  with it, and
- read its name and its deliveries in the history of that model's alerts when they may
  view the model.
Staff and superusers may do both with every channel. A channel one may not use answers
exactly as a channel that does not exist (`unusable_channel_message`), so ids cannot be
enumerated.
"""

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from access.roles import EDIT, VIEW, has_model_perm, is_unrestricted
from models_app.models import Model


def _channels():
    from alerts_app.models import Channel  # alerts_app depends on access, not the reverse

    return Channel.objects


def channels_shared_with(*models: Model) -> QuerySet:
    """Channels shared with every one of `models` (with none given: with all models)."""
    shared = _channels().all()
    scope = Q(shared_with_all_models=True)
    for model in models:
        shared = shared.filter(scope | Q(shared_models=model))
    return shared.distinct() if models else shared.filter(scope)


def routable_channels(user, *models: Model) -> QuerySet:
    """The channels `user` may send notifications about `models` to (the one policy).

    Staff: every channel. Others: the channels shared with each of `models`, provided
    they are editors of each; with no model named (a policy matching on tags or
    severity), only the channels shared with all models.
    """
    if is_unrestricted(user):
        return _channels().all()
    if not (user and user.is_authenticated and user.is_active and user.pk):
        return _channels().none()
    if any(not has_model_perm(user, EDIT, model) for model in models):
        return _channels().none()
    return channels_shared_with(*models)


def visible_channels(user, model: Model | None) -> QuerySet:
    """The channels whose names and deliveries `user` may read in `model`'s alert history."""
    if is_unrestricted(user):
        return _channels().all()
    if model is None or not has_model_perm(user, VIEW, model):
        return _channels().none()
    return channels_shared_with(model)


def unusable_channel_message(channel_id) -> str:
    """One answer for a missing channel and for one the user may not route to."""
    return f'Invalid pk "{channel_id}" - object does not exist.'


def unusable_channels(user, models: Iterable[Model], channels: Iterable) -> list:
    """The ids among `channels` (objects or ids) that `user` may not route `models` to."""
    ids = [getattr(channel, "pk", channel) for channel in channels]
    allowed = set(routable_channels(user, *models).filter(pk__in=ids).values_list("pk", flat=True))
    return [channel_id for channel_id in ids if channel_id not in allowed]
