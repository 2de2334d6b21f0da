"""Every domain's tables in one metadata, for migrations and the models-vs-migrations test.

Importing this module is also how the composition roots (the CLI, the app) make sure
every table is known, so foreign keys between domains resolve.
"""

from sqlmodel import SQLModel

from alerts import models as alerts_models
from alerts.check import models as check_models
from app import tally
from app.regions import models as regions_models
from app.reports import models as reports_models
from moderation import models as moderation_models
from moderation.objections import models as objections_models
from moderation.police import models as police_models
from organisations import models as organisations_models

DOMAINS = (
    tally,
    regions_models,
    reports_models,
    alerts_models,
    check_models,
    moderation_models,
    objections_models,
    police_models,
    organisations_models,
)
metadata = SQLModel.metadata
