/*-------------------------------------------------------------------------
 *
 * async.c
 *		  Scans under an asynchronous Append: a UNION ALL or a partitioned
 *		  table of several foreign scans has all their requests in flight
 *		  at once, on the connection's curl multi handle.
 *
 * PostgreSQL asks each child for a row (ForeignAsyncRequest).  A scan
 * answers at once when it has one, or when it is over; when it needs a
 * page it starts the GET and says "pending" (scan.c, ld_scan_async_next).
 * The Append then waits for the pending children together: each adds ONE
 * descriptor to the Append's wait set (ForeignAsyncConfigureWait; the set
 * has room for one per child).  Ours is an epoll descriptor of the scan's
 * own, holding the sockets curl wants watched and a timerfd armed to curl's
 * timer (connect and request timeouts, retries of a connect), so that the
 * Append's wait wakes for whatever curl needs.  When it wakes us
 * (ForeignAsyncNotify), curl acts on what happened and the scan tries
 * again.  Several scans of one connection share its sockets: each has them
 * in its own epoll set, so no descriptor is added twice to the Append's.
 *
 * A scan whose page arrived while another one drove curl completes in
 * ForeignAsyncConfigureWait and sets our latch, so that the Append's wait
 * (which watches the latch) returns at once for its row.
 *
 * Linux only (epoll, timerfd); elsewhere no scan is async capable.
 *
 *-------------------------------------------------------------------------
 */
#include "ldai_fdw.h"

#include "executor/execAsync.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/memutils.h"

#ifdef __linux__
#include <poll.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>
#define LD_HAVE_ASYNC 1
#endif

/* the longest the Append's wait may sleep without asking curl again */
#define LD_ASYNC_MAX_SLEEP_MS 1000

#ifdef LD_HAVE_ASYNC
/* a scan's wait state: its epoll set and timer */
typedef struct LdAsyncWait
{
	int			epfd;			/* curl's sockets and the timer, -1 = none */
	int			timerfd;
	unsigned long version;		/* curl's socket set when epfd was built */
} LdAsyncWait;
#endif

/*
 * ld_async_supported
 *		Whether this build can run scans asynchronously.
 */
bool
ld_async_supported(void)
{
#ifdef LD_HAVE_ASYNC
	return true;
#else
	return false;
#endif
}

/*
 * produce
 *		Ask the scan for a row without waiting: done with the row (or with
 *		nothing at its end), or pending while its page is in flight.
 */
static void
produce(AsyncRequest *areq)
{
	bool		wait;
	TupleTableSlot *slot = ld_scan_async_next((ForeignScanState *) areq->requestee, &wait);

	if (wait)
		ExecAsyncRequestPending(areq);
	else
		ExecAsyncRequestDone(areq, slot);
}

/*
 * ldForeignAsyncRequest
 *		A row is wanted: give it, or start the GET it needs.
 */
void
ldForeignAsyncRequest(AsyncRequest *areq)
{
	produce(areq);
}

#ifdef LD_HAVE_ASYNC

/*
 * drive_now
 *		Let curl act on whatever is ready now (sockets, an expired timer),
 *		without waiting.
 */
static void
drive_now(LdhClient *client)
{
	const LdhSocket *socks;
	struct pollfd fds[LDH_MAX_TRANSFERS * 2];
	long		timeout;
	unsigned long version;
	int			n = ldh_wait_set(client, &socks, &timeout, &version);
	int			i;

	n = Min(n, (int) lengthof(fds));
	for (i = 0; i < n; i++)
	{
		fds[i].fd = socks[i].fd;
		fds[i].events = ((socks[i].events & LDH_EV_IN) ? POLLIN : 0) |
			((socks[i].events & LDH_EV_OUT) ? POLLOUT : 0);
		fds[i].revents = 0;
	}
	if (n > 0 && poll(fds, n, 0) > 0)
		for (i = 0; i < n; i++)
			if (fds[i].revents != 0)
				ldh_on_event(client, fds[i].fd,
							 ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) ? LDH_EV_IN : 0) |
							 ((fds[i].revents & POLLOUT) ? LDH_EV_OUT : 0));
	if (timeout == 0)
		ldh_on_event(client, LDH_SOCKET_TIMEOUT, 0);
}

/*
 * close_wait
 *		Memory context callback: close the scan's descriptors when the
 *		query's memory goes (its end, or an ERROR).
 */
static void
close_wait(void *arg)
{
	LdAsyncWait *aw = (LdAsyncWait *) arg;

	if (aw->epfd >= 0)
		close(aw->epfd);
	if (aw->timerfd >= 0)
		close(aw->timerfd);
	aw->epfd = aw->timerfd = -1;
}

/*
 * wait_state
 *		The scan's wait state, made at its first wait: a timerfd, closed
 *		with the query's memory.
 */
static LdAsyncWait *
wait_state(ForeignScanState *node)
{
	void	  **slot = ld_scan_async_state(node);
	MemoryContext cxt = node->ss.ps.state->es_query_cxt;
	LdAsyncWait *aw;
	MemoryContextCallback *cb;

	if (*slot != NULL)
		return (LdAsyncWait *) *slot;
	aw = MemoryContextAllocZero(cxt, sizeof(LdAsyncWait));
	aw->epfd = -1;
	aw->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (aw->timerfd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create a timer for an asynchronous scan: %m")));
	cb = MemoryContextAllocZero(cxt, sizeof(MemoryContextCallback));
	cb->func = close_wait;
	cb->arg = aw;
	MemoryContextRegisterResetCallback(cxt, cb);
	*slot = aw;
	return aw;
}

/*
 * epoll_add
 *		Watch one descriptor in the scan's epoll set.
 */
static void
epoll_add(LdAsyncWait *aw, int fd, uint32 events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.fd = fd;
	if (epoll_ctl(aw->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		ereport(ERROR,
				(errcode_for_socket_access(),
				 errmsg("could not watch a socket for an asynchronous scan: %m")));
}

/*
 * sync_wait
 *		Make the scan's epoll set hold curl's current sockets (rebuilt when
 *		they changed) and arm the timer: curl's timeout, soon when curl has
 *		work due now, at most LD_ASYNC_MAX_SLEEP_MS.
 */
static void
sync_wait(LdAsyncWait *aw, LdhClient *client)
{
	const LdhSocket *socks;
	long		timeout;
	unsigned long version;
	int			n = ldh_wait_set(client, &socks, &timeout, &version);
	struct itimerspec its;
	int			i;

	if (aw->epfd < 0 || aw->version != version)
	{
		if (aw->epfd >= 0)
			close(aw->epfd);
		aw->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (aw->epfd < 0)
			ereport(ERROR,
					(errcode_for_socket_access(),
					 errmsg("could not create an epoll set for an asynchronous scan: %m")));
		aw->version = version;
		epoll_add(aw, aw->timerfd, EPOLLIN);
		for (i = 0; i < n; i++)
			if (socks[i].events != 0)
				epoll_add(aw, socks[i].fd,
						  ((socks[i].events & LDH_EV_IN) ? EPOLLIN : 0) |
						  ((socks[i].events & LDH_EV_OUT) ? EPOLLOUT : 0));
	}
	if (timeout < 0 || timeout > LD_ASYNC_MAX_SLEEP_MS)
		timeout = LD_ASYNC_MAX_SLEEP_MS;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = timeout / 1000;
	its.it_value.tv_nsec = (timeout % 1000) * 1000000L;
	if (timeout == 0)
		its.it_value.tv_nsec = 1;	/* zero would disarm it */
	(void) timerfd_settime(aw->timerfd, 0, &its, NULL);
}

/*
 * ldForeignAsyncConfigureWait
 *		The scan waits: complete it now if its page has arrived meanwhile,
 *		else add its epoll descriptor to the Append's wait set.
 */
void
ldForeignAsyncConfigureWait(AsyncRequest *areq)
{
	ForeignScanState *node = (ForeignScanState *) areq->requestee;
	AppendState *requestor = (AppendState *) areq->requestor;
	LdConn	   *conn;
	LdhTransfer *t = ld_scan_async_transfer(node, &conn);
	LdAsyncWait *aw;

	drive_now(ld_conn_client(conn));
	if (t == NULL || ldh_finished(t))
	{
		/* as in postgres_fdw: unset callback_pending, answer ourselves */
		areq->callback_pending = false;
		produce(areq);
		ExecAsyncResponse(areq);
		if (!areq->callback_pending)
		{
			SetLatch(MyLatch);	/* the Append's wait returns for this row */
			return;
		}
	}
	aw = wait_state(node);
	sync_wait(aw, ld_conn_client(conn));
	AddWaitEventToSet(requestor->as_eventset, WL_SOCKET_READABLE, aw->epfd,
					  NULL, areq);
}

/*
 * ldForeignAsyncNotify
 *		Something the scan waits for happened: let curl act on the ready
 *		sockets and the timer, then ask the scan again.
 */
void
ldForeignAsyncNotify(AsyncRequest *areq)
{
	ForeignScanState *node = (ForeignScanState *) areq->requestee;
	LdAsyncWait *aw = (LdAsyncWait *) *ld_scan_async_state(node);
	LdConn	   *conn;
	LdhClient  *client;
	struct epoll_event evs[32];
	int			n,
				i;

	(void) ld_scan_async_transfer(node, &conn);
	client = ld_conn_client(conn);
	n = (aw != NULL && aw->epfd >= 0) ? epoll_wait(aw->epfd, evs, lengthof(evs), 0) : 0;
	for (i = 0; i < n; i++)
	{
		if (evs[i].data.fd == aw->timerfd)
		{
			uint64		expirations;

			/* clear the expiry (nothing to read is fine: non-blocking) */
			if (read(aw->timerfd, &expirations, sizeof(expirations)) < 0)
				expirations = 0;
			ldh_on_event(client, LDH_SOCKET_TIMEOUT, 0);
		}
		else
			ldh_on_event(client, evs[i].data.fd,
						 ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ? LDH_EV_IN : 0) |
						 ((evs[i].events & EPOLLOUT) ? LDH_EV_OUT : 0));
	}
	drive_now(client);
	produce(areq);
}

#else							/* !LD_HAVE_ASYNC */

/*
 * ldForeignAsyncConfigureWait
 *		Never called: no path is async capable without epoll.
 */
void
ldForeignAsyncConfigureWait(AsyncRequest *areq)
{
	elog(ERROR, "ldai_fdw: asynchronous scans are not supported on this platform");
}

/*
 * ldForeignAsyncNotify
 *		Never called (see above).
 */
void
ldForeignAsyncNotify(AsyncRequest *areq)
{
	elog(ERROR, "ldai_fdw: asynchronous scans are not supported on this platform");
}

#endif							/* LD_HAVE_ASYNC */
