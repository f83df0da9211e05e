"""OpenAPI: ingest tokens are a security scheme of the telemetry writes only."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from access.throttling import is_telemetry_write


class IngestTokenScheme(OpenApiAuthenticationExtension):
    target_class = "access.authentication.IngestTokenAuthentication"
    name = "ingestToken"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'An ingest token, "Token mwi_…": sends one model\'s telemetry '
            "(metrics, predictions, labels, reference, parameters, profiles), "
            "nothing else.",
        }

    def get_security_requirement(self, auto_schema):
        request = type("SchemaRequest", (), {"method": auto_schema.method})()
        return {self.name: []} if is_telemetry_write(request, auto_schema.view) else None
