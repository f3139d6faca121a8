"""The solution modules, one per assignment (`answerkey.registry`).

Importing the engine first makes every module here run its exact source
(`answerkey.sources`), whichever is imported first.
"""

import answerkey  # noqa: F401
