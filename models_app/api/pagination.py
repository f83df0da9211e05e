from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination, _positive_int


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request) -> int:
        """`page_size` as asked (capped at max_page_size); 400 naming the parameter when
        it is not a positive integer, instead of silently serving the default size."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            return _positive_int(raw, strict=True, cutoff=self.max_page_size)
        except ValueError:
            raise ValidationError({"page_size": ["Must be a positive integer."]})

    def get_page_number(self, request, paginator) -> int | str:
        """`page` as asked; 400 naming the parameter when it is present but not a positive
        integer (DRF reads an empty `page=` as the first page). "last" stays allowed, and a
        page past the end stays DRF's 404."""
        raw = request.query_params.get(self.page_query_param)
        if raw is None or raw in self.last_page_strings:
            return super().get_page_number(request, paginator)
        try:
            return _positive_int(raw, strict=True)
        except ValueError:
            raise ValidationError({"page": ["Must be a positive integer."]})
