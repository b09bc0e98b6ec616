"""Python client of the usergateway (see client.py)."""

from usergateway_client.client import (DEFAULT_TIMEOUT_S, REQUEST_ID_KEY,
                                       GatewayError, UpdateResult, User,
                                       UserProfileClient,
                                       decode_status_details)

__all__ = ["DEFAULT_TIMEOUT_S", "REQUEST_ID_KEY", "GatewayError",
           "UpdateResult", "User", "UserProfileClient",
           "decode_status_details"]
