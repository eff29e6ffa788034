"""Settlement: charging sessions (opened and closed from the gateway, checked against OCMF signed meter
values), monthly energy totals, tariffs and service fees, sealed terms between an operator and a grid
company, and the monthly statements they confirm, dispute or correct."""
