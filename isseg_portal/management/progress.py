"""Progress of a long command on its standard error: a line every 5 % (and the last)."""


class Progress:
    def __init__(self, stream, verb: str):
        self.stream = stream
        self.verb = verb
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        percent = done * 100 // total if total else 100
        if percent // 5 != self.shown // 5 or done == total:
            self.shown = percent
            self.stream.write(f"{self.verb}: {done:,} de {total:,} ({percent} %)")
