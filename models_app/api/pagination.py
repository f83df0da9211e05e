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
