"""An executor for tests: runs the tasks in this process, so that a test can make one fail."""


class InProcess:
    """An executor that runs tasks in this process, so that a test can make a batch fail."""

    workers = 2

    def run(self, fn, tasks, on_submit=None, resources=None):
        for i, task in enumerate(tasks):
            if on_submit:
                on_submit(i)
            try:
                yield i, fn(*task), None
            except Exception as e:
                yield i, None, e
