from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import SessionDep
from app.regions import service
from app.regions.models import RegionMatch, RegionNode

router = APIRouter(prefix="/regions", tags=["regions"])


@router.get(
    "",
    response_model=list[RegionNode] | list[RegionMatch],
    summary="The region tree, or regions matching a name",
    description=(
        "Without `q`: the whole tree (country → province → municipality). With `q`: up to 20 "
        "regions whose name or a known town in them contains `q`, ignoring case and accents "
        "(`sudwest` finds Súdwest-Fryslân, `den haag` finds 's-Gravenhage), best matches first."
    ),
)
def list_regions(
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=100, description="Part of a name")] = None,
) -> list[RegionNode] | list[RegionMatch]:
    if q is not None:
        return service.search(session, query=q)
    return service.tree(session)
