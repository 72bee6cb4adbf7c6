/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-mp.h"

/*
 * The mp's crypto workers: a few threads (one per processor, at most
 * EH_MP_WORKERS_MAX) that check proofs and sign tokens off the main loop.
 *
 * A job is two functions: run (in a worker) and done (on the main loop).
 * Finished jobs wait in one list; the main loop is woken once for however
 * many finished while it was busy, and runs their done functions in one
 * turn. Under load that is one wake-up for a batch instead of a GTask, an
 * idle source and a wake-up per job.
 */

#define EH_MP_WORKERS_MAX 8

typedef struct {
  EhMpWorkFunc run;
  EhMpWorkFunc done;
  gpointer data;
} EhMpWork;

struct _EhMpWorkers {
  gint ref_count;       /* the owner's, and one per drain queued on the main loop */
  GAsyncQueue *queue;   /* EhMpWork; the stop marker is the workers' own pointer */
  GPtrArray *threads;
  GMainContext *context;
  GMutex lock;
  GQueue finished;      /* EhMpWork, under lock */
  gboolean wake_queued; /* under lock: a drain is queued on the main loop */
};

static void
eh_mp_workers_unref (EhMpWorkers *workers)
{
  if (!g_atomic_int_dec_and_test (&workers->ref_count))
    return;
  g_ptr_array_unref (workers->threads);
  g_async_queue_unref (workers->queue);
  g_main_context_unref (workers->context);
  g_mutex_clear (&workers->lock);
  g_free (workers);
}

static gboolean eh_mp_workers_drain (gpointer user_data);

static gpointer
eh_mp_workers_thread (gpointer user_data)
{
  EhMpWorkers *workers = user_data;

  for (;;) {
    EhMpWork *work = g_async_queue_pop (workers->queue);
    gboolean wake;

    if (work == (gpointer) workers)
      return NULL;
    work->run (work->data);
    g_mutex_lock (&workers->lock);
    g_queue_push_tail (&workers->finished, work);
    wake = !workers->wake_queued;
    workers->wake_queued = TRUE;
    g_mutex_unlock (&workers->lock);
    if (wake) {
      /* always a source: the done functions run on the main loop only */
      g_autoptr (GSource) source = g_idle_source_new ();

      g_atomic_int_inc (&workers->ref_count);
      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, eh_mp_workers_drain, workers, (GDestroyNotify) eh_mp_workers_unref);
      g_source_attach (source, workers->context);
    }
  }
}

/* on the main loop: the done functions of every job finished so far */
static gboolean
eh_mp_workers_drain (gpointer user_data)
{
  EhMpWorkers *workers = user_data;
  GQueue finished = G_QUEUE_INIT;
  EhMpWork *work;

  g_mutex_lock (&workers->lock);
  finished = workers->finished;
  g_queue_init (&workers->finished);
  workers->wake_queued = FALSE;
  g_mutex_unlock (&workers->lock);
  while ((work = g_queue_pop_head (&finished)) != NULL) {
    work->done (work->data);
    g_free (work);
  }
  return G_SOURCE_REMOVE;
}

EhMpWorkers *
eh_mp_workers_new (guint n_threads)
{
  EhMpWorkers *workers = g_new0 (EhMpWorkers, 1);

  if (n_threads == 0)
    n_threads = CLAMP (g_get_num_processors (), 1, EH_MP_WORKERS_MAX);
  workers->ref_count = 1;
  workers->queue = g_async_queue_new ();
  workers->threads = g_ptr_array_new ();
  workers->context = g_main_context_ref_thread_default ();
  g_mutex_init (&workers->lock);
  g_queue_init (&workers->finished);
  for (guint i = 0; i < n_threads; i++)
    g_ptr_array_add (workers->threads, g_thread_new ("mp-worker", eh_mp_workers_thread, workers));
  return workers;
}

void
eh_mp_workers_push (EhMpWorkers *workers, EhMpWorkFunc run, EhMpWorkFunc done, gpointer data)
{
  EhMpWork *work = g_new (EhMpWork, 1);

  work->run = run;
  work->done = done;
  work->data = data;
  g_async_queue_push (workers->queue, work);
}

/* every job queued runs, and its done function too, before this returns */
void
eh_mp_workers_free (EhMpWorkers *workers)
{
  if (workers == NULL)
    return;
  for (guint i = 0; i < workers->threads->len; i++)
    g_async_queue_push (workers->queue, workers);
  for (guint i = 0; i < workers->threads->len; i++)
    g_thread_join (g_ptr_array_index (workers->threads, i));
  eh_mp_workers_drain (workers);
  /* a drain still queued on the main loop keeps the rest alive and finds nothing */
  eh_mp_workers_unref (workers);
}
