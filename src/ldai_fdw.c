/*-------------------------------------------------------------------------
 *
 * ldai_fdw.c
 *		  Entry points of ldai_fdw: module initialisation and the handler
 *		  that hands PostgreSQL the FDW's callbacks.
 *
 *-------------------------------------------------------------------------
 */
#include "ldai_fdw.h"

#include "foreign/fdwapi.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(ldai_fdw_handler);

void		_PG_init(void);

/*
 * _PG_init
 *		Initialise libcurl once for the backend; define the GUCs and the
 *		transaction callbacks of write safety (xact.c); when preloaded,
 *		ask for the shared memory of the rate-limit budget (budget.c).
 */
void
_PG_init(void)
{
	if (ldh_global_init() != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not initialise libcurl")));
	ld_write_safety_init();
	/* shared budget and statistics when in shared_preload_libraries */
	ld_budget_init();
}

/*
 * ldai_fdw_handler
 *		The FdwRoutine with our callbacks.
 */
Datum
ldai_fdw_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);

	routine->GetForeignRelSize = ldGetForeignRelSize;
	routine->GetForeignPaths = ldGetForeignPaths;
	routine->GetForeignPlan = ldGetForeignPlan;
	routine->GetForeignUpperPaths = ldGetForeignUpperPaths;
	routine->BeginForeignScan = ldBeginForeignScan;
	routine->IterateForeignScan = ldIterateForeignScan;
	routine->ReScanForeignScan = ldReScanForeignScan;
	routine->EndForeignScan = ldEndForeignScan;
	routine->ExplainForeignScan = ldExplainForeignScan;
	routine->ImportForeignSchema = ldImportForeignSchema;
	routine->AnalyzeForeignTable = ldAnalyzeForeignTable;

	routine->IsForeignPathAsyncCapable = ldIsForeignPathAsyncCapable;
	routine->ForeignAsyncRequest = ldForeignAsyncRequest;
	routine->ForeignAsyncConfigureWait = ldForeignAsyncConfigureWait;
	routine->ForeignAsyncNotify = ldForeignAsyncNotify;

	routine->AddForeignUpdateTargets = ldAddForeignUpdateTargets;
	routine->PlanForeignModify = ldPlanForeignModify;
	routine->BeginForeignModify = ldBeginForeignModify;
	routine->ExecForeignInsert = ldExecForeignInsert;
	routine->ExecForeignUpdate = ldExecForeignUpdate;
	routine->ExecForeignDelete = ldExecForeignDelete;
	routine->EndForeignModify = ldEndForeignModify;
	routine->IsForeignRelUpdatable = ldIsForeignRelUpdatable;
	routine->GetForeignModifyBatchSize = ldGetForeignModifyBatchSize;
	routine->ExecForeignBatchInsert = ldExecForeignBatchInsert;
	routine->ExplainForeignModify = ldExplainForeignModify;

	routine->PlanDirectModify = ldPlanDirectModify;
	routine->BeginDirectModify = ldBeginDirectModify;
	routine->IterateDirectModify = ldIterateDirectModify;
	routine->EndDirectModify = ldEndDirectModify;
	routine->ExplainDirectModify = ldExplainDirectModify;
	PG_RETURN_POINTER(routine);
}
