"""DRF asks only the first authenticator for its challenge (the session's, which has none) and so
answers 403 to a missing or bad token; asking each makes those a proper 401 with a challenge.

Every API view mixes this in, the ledger's own endpoints (ledger.api) as well as the apps'. It lives
here, in the bottom layer, so that the ledger's views need nothing from the layers above it; the rest
of the API's shared plumbing (pagination, schema bodies, the error body, the parser) is in core.api."""


class AuthChallengeMixin:
    def get_authenticate_header(self, request):
        for authenticator in self.get_authenticators():
            header = authenticator.authenticate_header(request)
            if header:
                return header
        return None
