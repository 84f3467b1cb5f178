"""Course mechanics: exercise checks, the exercise generator and the grader (DESIGN §4).

Modules, one job each:

- ``checks``         what a check cell calls; prints ``✅ NN.M passed`` or raises AssertionError
- ``notebooks``      the notebook contract shared by generator and grader: answer and check cells
- ``paths``          where the repo's ``solutions/`` and ``exercises/`` folders are
- ``make_exercises`` ``solutions/`` -> ``exercises/`` (``kafkalab make-exercises``)
- ``grade``          splice a learner's answers into the pristine exercise notebook, run it under
                     nbval, print a score table (``kafkalab grade``)
- ``nbval_run``      run notebooks under ``pytest --nbval-lax`` in a subprocess, outcome per cell
- ``nbval_plugin``   the pytest plugin ``nbval_run`` loads to record those outcomes
- ``lessonNN``       lesson-specific checks, registered with ``checks.lesson_check``
- ``backend``        what a lesson notebook runs on (the embedded engine, ``kafkalab serve`` or a
                     real cluster, with the real kafka-python) and its ``%%needs_engine`` cells

Nothing here imports the engine (importing the package still runs ``kafkalab/__init__``).
"""
