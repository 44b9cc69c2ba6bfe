from clinic_shared.migrations import run_env
from clinic_shared.projections.clinics import metadata as clinic_projection
from clinic_shared.tables import metadata as plumbing

run_env([plumbing, clinic_projection])
