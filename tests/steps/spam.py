"""What a real spam filter makes of our e-mails: Debian's SpamAssassin (the ``spamassassin``
package, which ``infrastructure/local/bootstrap.sh`` installs), its local tests only, as
``spamassassin -L -t`` runs them: no network rules, no DNS, no Bayes, no auto-welcomelist.

Every message is scored in one Perl process (Mail::SpamAssassin, the library ``spamassassin``
is made of): loading the rules costs most of a second, each message then a few milliseconds.

    scored = spam_scores({"invoice": raw, "alert": other_raw})
    scored["invoice"].score, scored["invoice"].rules   # 0.0, ["HTML_MESSAGE", "NO_RECEIVED", ...]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

# ``spamassassin -L -t`` per file, in one process; one line a message: file, score, rules hit
# (``NAME=points``). A user preferences file is neither read nor written (``-p /dev/null``), and
# its state folder is a temporary one (HOME): nothing is learnt from one run for the next.
_SCORE = r"""
use strict; use warnings;
use Mail::SpamAssassin;
my $sa = Mail::SpamAssassin->new({
  local_tests_only => 1, dont_copy_prefs => 1, userprefs_filename => '/dev/null', userstate_dir => $ENV{HOME},
  post_config_text => "use_bayes 0\nbayes_auto_learn 0\nuse_auto_whitelist 0\nuse_auto_welcomelist 0\n",
});
$sa->compile_now(0);
for my $file (@ARGV) {
  open(my $fh, '<', $file) or die "$file: $!"; local $/; my $raw = <$fh>; close $fh;
  my $mail = $sa->parse($raw); my $status = $sa->check($mail);
  my @hits = map { "$_=" . ($status->{conf}->{scores}->{$_} // 0) }
             grep { length } split /,/, $status->get_names_of_tests_hit();
  print join("\t", $file, $status->get_score(), join(' ', @hits)), "\n";
  $status->finish; $mail->finish;
}
"""


@dataclass(frozen=True)
class Scored:
    score: float
    rules: dict[str, float]  # each rule hit and its points

    def shown(self) -> str:
        return f"{self.score:.3f}: " + ", ".join(f"{rule} {points:g}" for rule, points in self.rules.items())


def spam_scores(messages: dict[str, bytes]) -> dict[str, Scored]:
    """SpamAssassin's local score of each raw message, by the same key. Fails (never skips) when
    SpamAssassin is missing: the project installs it (bootstrap.sh), so a missing one is a
    broken machine, not a reason to let e-mails go unchecked."""
    if shutil.which("spamassassin") is None or shutil.which("perl") is None:
        pytest.fail(
            "SpamAssassin is not installed: apt-get install spamassassin (infrastructure/local/bootstrap.sh)"
        )
    with tempfile.TemporaryDirectory() as folder:
        files = {}
        for n, (key, raw) in enumerate(messages.items()):
            path = Path(folder) / f"{n}.eml"
            path.write_bytes(raw)
            files[str(path)] = key
        done = subprocess.run(
            ["perl", "-e", _SCORE, *files],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "HOME": folder},
        )
    assert done.returncode == 0, done.stderr
    scored = {}
    for line in done.stdout.splitlines():
        file, score, hits = ([*line.split("\t"), ""])[:3]
        rules = {name: float(points) for name, _, points in (hit.partition("=") for hit in hits.split())}
        scored[files[file]] = Scored(float(score), rules)
    assert scored.keys() == messages.keys(), done.stderr
    return scored
