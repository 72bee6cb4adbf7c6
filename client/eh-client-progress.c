/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "eh-client.h"

/*
 * Progress of a download: on a terminal a bar redrawn in place at most ten
 * times a second (files, bytes, rate, current DP); otherwise a plain line
 * per file and per event, and one every 5 s, on standard error. Silent with
 * --quiet.
 */

#define EH_CLIENT_PROGRESS_TTY_PERIOD (G_USEC_PER_SEC / 10)
#define EH_CLIENT_PROGRESS_LINE_PERIOD (5 * G_USEC_PER_SEC)
#define EH_CLIENT_PROGRESS_BAR 24

struct _EhClientProgress {
  gboolean quiet;
  gboolean tty;
  guint files;
  guint file;
  guint64 total;
  guint64 done;
  char *path;
  char *dp;
  gint64 start;
  gint64 last;
  gboolean drawn;
};

EhClientProgress *
eh_client_progress_new (gboolean quiet)
{
  EhClientProgress *progress = g_new0 (EhClientProgress, 1);

  progress->quiet = quiet;
  progress->tty = isatty (STDERR_FILENO);
  progress->start = g_get_monotonic_time ();
  return progress;
}

/* what the download is, once the manifest says */
void
eh_client_progress_set_content (EhClientProgress *progress, guint files, guint64 bytes)
{
  progress->files = files;
  progress->total = bytes;
}

void
eh_client_progress_free (EhClientProgress *progress)
{
  if (progress == NULL)
    return;
  g_free (progress->path);
  g_free (progress->dp);
  g_free (progress);
}

static double
eh_client_progress_rate (EhClientProgress *progress, guint64 done)
{
  double seconds = (g_get_monotonic_time () - progress->start) / (double) G_USEC_PER_SEC;

  return seconds > 0 ? done / seconds : 0;
}

static void
eh_client_progress_draw (EhClientProgress *progress)
{
  guint filled = progress->total > 0 ? (guint) (EH_CLIENT_PROGRESS_BAR * (double) progress->done / progress->total)
                                     : EH_CLIENT_PROGRESS_BAR;
  char bar[EH_CLIENT_PROGRESS_BAR + 1];

  for (guint i = 0; i < EH_CLIENT_PROGRESS_BAR; i++)
    bar[i] = i < filled ? '#' : '.';
  bar[EH_CLIENT_PROGRESS_BAR] = '\0';
  fprintf (stderr, "\r\033[K[%s] %u/%u files  %.1f/%.1f MiB  %.1f MiB/s  %s", bar, progress->file, progress->files,
           progress->done / 1048576.0, progress->total / 1048576.0,
           eh_client_progress_rate (progress, progress->done) / 1048576.0, progress->dp != NULL ? progress->dp : "");
  fflush (stderr);
  progress->drawn = TRUE;
}

void
eh_client_progress_file (EhClientProgress *progress, const char *path, const char *dp)
{
  progress->file++;
  g_free (progress->path);
  g_free (progress->dp);
  progress->path = g_strdup (path);
  progress->dp = g_strdup (dp);
  if (progress->quiet)
    return;
  if (progress->tty)
    eh_client_progress_draw (progress);
  else
    g_printerr ("file %u/%u %s from %s\n", progress->file, progress->files, path, dp);
}

void
eh_client_progress_update (EhClientProgress *progress, guint64 done, gboolean force)
{
  gint64 now = g_get_monotonic_time ();

  progress->done = done;
  if (progress->quiet)
    return;
  if (progress->tty && (force || now - progress->last >= EH_CLIENT_PROGRESS_TTY_PERIOD)) {
    progress->last = now;
    eh_client_progress_draw (progress);
  } else if (!progress->tty && now - progress->last >= EH_CLIENT_PROGRESS_LINE_PERIOD) {
    progress->last = now;
    g_printerr ("%.1f/%.1f MiB, %.1f MiB/s, from %s\n", done / 1048576.0, progress->total / 1048576.0,
                eh_client_progress_rate (progress, done) / 1048576.0, progress->dp != NULL ? progress->dp : "");
  }
}

void
eh_client_progress_note (EhClientProgress *progress, const char *format, ...)
{
  g_autofree char *text = NULL;
  va_list args;

  if (progress->quiet)
    return;
  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  if (progress->tty && progress->drawn)
    fprintf (stderr, "\r\033[K");
  g_printerr ("%s\n", text);
  if (progress->tty && progress->drawn)
    eh_client_progress_draw (progress);
}

void
eh_client_progress_done (EhClientProgress *progress)
{
  if (progress->quiet)
    return;
  if (progress->tty) {
    eh_client_progress_draw (progress);
    fputc ('\n', stderr);
  }
  g_printerr ("%u files, %.1f MiB in %.1f s\n", progress->files, progress->total / 1048576.0,
              (g_get_monotonic_time () - progress->start) / (double) G_USEC_PER_SEC);
}
