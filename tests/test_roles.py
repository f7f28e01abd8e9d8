"""The role fixtures: each client is its token's viewer, and scope follows the role."""

from __future__ import annotations

from tests.conftest import Api, EdgeWorld, assert_forbidden


async def test_each_client_is_its_tokens_viewer(admin_api: Api, user_api: Api, edge_world: EdgeWorld) -> None:
    assert (await admin_api.query("{ viewer { id role } }"))["viewer"] == {"id": edge_world.admin.id, "role": "ADMIN"}
    assert (await user_api.query("{ viewer { id role } }"))["viewer"] == {"id": edge_world.user.id, "role": "USER"}


async def test_a_user_naming_someone_else_is_forbidden(user_api: Api, edge_world: EdgeWorld) -> None:
    response = await user_api.post(
        "query($id: ID) { dashboardStats(userId: $id) { today { requests } } }", {"id": edge_world.other.id}
    )
    assert_forbidden(response.json())


async def test_an_admin_reads_a_users_scope(admin_api: Api, edge_world: EdgeWorld) -> None:
    mine = sum(1 for r in edge_world.ds.usage if r.user_id == edge_world.user.id)
    data = await admin_api.query(
        "query($id: ID) { dashboardStats(userId: $id) { allTime { requests } } }", {"id": edge_world.user.id}
    )
    assert data["dashboardStats"]["allTime"]["requests"] == mine > 0
