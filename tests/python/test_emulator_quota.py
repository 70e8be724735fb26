"""The emulator's server-side quota seen by the official SDK: 429 above it, per project."""

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkmodelarts.v1 import ListNotebooksRequest

from emulator_support import OTHER_PROJECT_ID, client, emu, emulator  # noqa: F401


def test_above_the_quota_the_sdk_gets_429_and_another_project_is_not_throttled(emu, client):
    # 0.5/s with a burst of 2: two calls pass, the third waits 2 s (the test takes far less).
    emu.ctl("PUT", "/quota", {"rps": 0.5, "burst": 2})
    for _ in range(2):
        assert client.list_notebooks(ListNotebooksRequest()).total == 0
    with pytest.raises(ClientRequestException) as e:
        client.list_notebooks(ListNotebooksRequest())
    # The SDK's urllib3 retry layer turns any 429 into error_code "429" (reference 4.6).
    assert e.value.status_code == 429
    assert emu.client(project_id=OTHER_PROJECT_ID).list_notebooks(ListNotebooksRequest()).total == 0
    seen = emu.ctl("GET", "/quota")
    assert seen["quota"] == {"rps": 0.5, "burst": 2.0}
    assert seen["throttled_by_route"] == {"GET /v1/{project_id}/notebooks": 1}
    emu.ctl("DELETE", "/quota")
    assert client.list_notebooks(ListNotebooksRequest()).total == 0
