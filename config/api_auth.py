"""DRF asks only the first authenticator for its challenge (the session's, which has none) and so
answers 403 to a missing or bad token; asking each makes those a proper 401 with a challenge."""


class AuthChallengeMixin:
    def get_authenticate_header(self, request):
        for authenticator in self.get_authenticators():
            header = authenticator.authenticate_header(request)
            if header:
                return header
        return None
