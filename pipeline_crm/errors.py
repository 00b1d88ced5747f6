"""The one shape of a refused write. Each app raises a family of its own (`AccountError`,
`ProjectError`, `PipelineError`), all `DomainError`s whose text is written for the user, and
views show it the same way: `form.add_error(None, error)` on a form page, else
`messages.error(request, error)`."""


class DomainError(Exception):
    """A write the rules refuse. `str(error)` is the message for the user; nothing was
    written."""
