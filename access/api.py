"""Model admins manage their model's roles and ingest tokens over the API.

`/api/v1/models/{name}/roles/` and `/api/v1/models/{name}/tokens/`: the admin role on
the model (or staff) is required for every method (`required_model_perm`), checked by
`access.permissions.ModelAccess` from the URL's model name.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from access import roles, tokens
from access.models import IngestToken, ModelRole, Role
from access.roles import CHANGE
from models_app.models import Model


class ModelRoleSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(
        slug_field="username",
        allow_null=True,
        required=False,
        queryset=get_user_model().objects.all(),
    )
    group = serializers.SlugRelatedField(
        slug_field="name", allow_null=True, required=False, queryset=Group.objects.all()
    )
    role = serializers.ChoiceField(choices=Role.choices)
    granted_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = ModelRole
        fields = ["id", "user", "group", "role", "granted_by", "created_at"]
        read_only_fields = ["id", "granted_by", "created_at"]

    def validate(self, attrs: dict) -> dict:
        if (attrs.get("user") is None) == (attrs.get("group") is None):
            raise serializers.ValidationError(
                {"user": ["Give either a user or a group (not both)."]}
            )
        return attrs


class IngestTokenSerializer(serializers.ModelSerializer):
    expires = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        help_text='Lifetime from now: "30d", "12h", "2w" (default: no expiry).',
    )
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    key = serializers.SerializerMethodField(
        help_text="The key, present only in the answer that creates the token."
    )

    class Meta:
        model = IngestToken
        fields = [
            "id",
            "name",
            "prefix",
            "key",
            "expires",
            "expires_at",
            "revoked",
            "created_by",
            "created_at",
            "last_used_at",
        ]
        read_only_fields = [
            "id",
            "prefix",
            "expires_at",
            "revoked",
            "created_by",
            "created_at",
            "last_used_at",
        ]

    def get_key(self, token: IngestToken) -> str | None:
        return self.context.get("key")

    def validate_expires(self, value: str):
        try:
            return tokens.parse_expiry(value, timezone.now())
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class ModelScoped:
    required_model_perm = CHANGE
    pagination_class = None
    filter_backends: list = []

    def target(self) -> Model:
        return get_object_or_404(Model, name=self.kwargs["name"])


class ModelRoleList(ModelScoped, generics.ListCreateAPIView):
    """Who holds which role on the model; grant one (replaces the principal's role)."""

    serializer_class = ModelRoleSerializer

    def get_queryset(self):
        return ModelRole.objects.filter(model__name=self.kwargs["name"]).select_related(
            "user", "group", "granted_by"
        )

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data, model = serializer.validated_data, self.target()
        existed = ModelRole.objects.filter(
            model=model, user=data.get("user"), group=data.get("group")
        ).exists()
        grant = roles.grant(
            model, data.get("user") or data.get("group"), data["role"], granted_by=request.user
        )
        return Response(
            ModelRoleSerializer(grant).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )


class ModelRoleDetail(ModelScoped, generics.RetrieveDestroyAPIView):
    """One grant; DELETE takes the role away."""

    serializer_class = ModelRoleSerializer

    def get_queryset(self):
        return ModelRole.objects.filter(model__name=self.kwargs["name"])


class IngestTokenList(ModelScoped, generics.ListCreateAPIView):
    """The model's ingest tokens (never their keys); create one (its key answered once)."""

    serializer_class = IngestTokenSerializer

    def get_queryset(self):
        return IngestToken.objects.filter(model__name=self.kwargs["name"]).select_related(
            "created_by"
        )

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        token, key = tokens.create_token(
            self.target(), data["name"], request.user, data.get("expires")
        )
        answer = IngestTokenSerializer(token, context={"key": key}).data
        return Response(answer, status=status.HTTP_201_CREATED)


class IngestTokenRevoke(ModelScoped, generics.GenericAPIView):
    serializer_class = IngestTokenSerializer

    def get_queryset(self):
        return IngestToken.objects.filter(model__name=self.kwargs["name"])

    @extend_schema(request=None, responses={200: IngestTokenSerializer})
    def post(self, request, name: str, pk: int):
        """Revoke the token: it stops working at once (kept for the record)."""
        token = self.get_object()
        if not token.revoked:
            tokens.revoke(token)
        return Response(IngestTokenSerializer(token).data)
