"""The project's exception: one line, for people, printed by the CLI without a traceback."""


class HomeworkError(Exception):
    """A problem the user can fix; the message names the input and what is wrong."""


class OfflineError(HomeworkError):
    """A remote handle or data set could not be reached."""
