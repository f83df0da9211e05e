"""ModelWatch Python SDK: send metrics, predictions, labels and weight statistics.

from modelwatch import Client
mw = Client("http://127.0.0.1:8000", token="...").model("fraud")
mw.log_metric("accuracy", 0.93)
"""

__version__ = "0.1.0"

from modelwatch.client import Client, ModelHandle  # noqa: E402
from modelwatch.errors import ModelWatchConnectionError, ModelWatchError  # noqa: E402
from modelwatch.transport import RetryPolicy  # noqa: E402

__all__ = [
    "Client",
    "ModelHandle",
    "ModelWatchError",
    "ModelWatchConnectionError",
    "RetryPolicy",
    "__version__",
]
