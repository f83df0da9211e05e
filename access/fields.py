"""Serializer fields that apply the access policy to what a request body names."""

from rest_framework import serializers

from access.permissions import check_model_perm
from access.roles import EDIT, VIEW, has_model_perm
from models_app.models import Model


class EditableModelField(serializers.SlugRelatedField):
    """A model named in a request body (a rule's `model`), checked on the object it names.

    The name may come as a JSON string or integer (`2024` names the model "2024"); either
    way the resolved model is what is checked: one the requesting user may not view
    answers exactly as one that does not exist (400), one they view without the editor
    role answers 403 with the role needed. Booleans, floats, lists and objects are no
    names (400 "Invalid value.", whether or not a model would match).
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(slug_field="name", queryset=Model.objects.all(), **kwargs)

    def to_internal_value(self, data) -> Model:
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("invalid")
        name = str(data)
        model = Model.objects.filter(name=name).first()
        user = getattr(self.context.get("request"), "user", None)
        if model is None or not has_model_perm(user, VIEW, model):
            self.fail("does_not_exist", slug_name=self.slug_field, value=name)
        check_model_perm(user, EDIT, model)
        return model
