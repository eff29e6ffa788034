from registry.models.identity import CODE_VALIDATOR, Institution, InstitutionRole, StaffRole, User

__all__ = ["CODE_VALIDATOR", "Institution", "InstitutionRole", "StaffRole", "User"]
