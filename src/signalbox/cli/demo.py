"""`signalbox demo`: the story, replayed against a temporary server and narrated."""

from __future__ import annotations

import time

import typer

from signalbox.cli.consoles import console_for
from signalbox.cli.exit_codes import ExitCode

__all__ = ["demo"]


def demo(
    pace: float = typer.Option(
        2.5, "--pace", help="Seconds to pause before each step, to read along (0: no pauses)."
    ),
) -> None:
    """Replay the story in about a minute: a hold refuses CI, a demo window refuses a
    17-minute deploy, a destroying plan waits for approval, then an incident freezes dev,
    queued CI jobs are refused at once, the hotfix jumps the queue, and the postmortem is
    drafted. Starts a temporary server on loopback and leaves nothing behind.

    Exits 0 when the story ran as told, 1 when a step did not (a bug: the output says which).
    """
    from signalbox.demo.story import StoryFailed, demo_server, play

    console = console_for(soft_wrap=True)

    def say(line: str) -> None:
        console.print(line, markup=False)

    def pause() -> None:
        if pace > 0:
            time.sleep(pace)  # for people reading along, not for synchronisation

    say("Starting a temporary signalbox server (SQLite in a temporary directory)...")
    try:
        with demo_server(say) as cast:
            play(cast, say=say, pause=pause)
    except StoryFailed as failed:
        say(f"The demo stopped: {failed}")
        say("This is a bug in signalbox; please report it with the output above.")
        raise typer.Exit(int(ExitCode.FAILURE)) from None
    say("")
    say("The demo's server is stopped and its files are removed.")
