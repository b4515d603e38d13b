// Package spill holds the local copies of objects being written through the
// mount. A File is one object's spill file: a sparse data file in a private
// Dir, written at any offset, truncated, read while written by any number of
// handles, and uploaded in parts, in the background while a sequential writer
// writes and at commit (close, fsync). It speaks no HTTP and knows no FUSE:
// the original object is read through a RangeReader, and parts are handed to
// the caller, who puts them to a transfer.Upload and reports back.
//
// # Invariants
//
//   - The data file's length is the File's size. Bytes at or past baseSize,
//     and bytes in the present set, are in the data file; a byte below
//     baseSize outside the set is the original object's and is fetched before
//     it is read. baseSize starts at the original's size and only falls (a
//     truncate to below it), so bytes past a shrink are zeros when the File
//     grows again, never the original's. When everything is present, baseSize
//     is 0 (AllLocal).
//   - No byte is fetched by two callers at once: fetches in flight (fills)
//     never overlap, a caller that needs bytes someone is fetching waits for
//     them, and a fill stores only what is still missing when it lands, so a
//     write or truncate made meanwhile is never overwritten by older bytes.
//   - Parts are PartSize bytes (the last may be short; a zero-byte File is one
//     empty part). Every change gives the parts it touches a new generation, a
//     value of a clock that never repeats within a File. A part is uploaded in
//     the current session when it was reported uploaded at its current
//     generation; handing out the same part again needs a newer generation.
//   - At most one upload of a part is in flight: ReadyParts skips parts in
//     flight, and PlanCommit refuses to run while any is. transfer.Upload
//     keeps the last put of a part number, and a put reads the data file when
//     it runs; with one put per part at a time, puts of a part are made in
//     generation order, so the session never keeps older bytes than the File
//     believes. Parts are reported back with PartUploaded or PartFailed.
//   - A session ends with Committed, ResetSession, or a PlanCommit that says
//     NewSession (a part handed out this session was cut off by a truncate,
//     or the File outgrew transfer.MaxParts parts and its parts grew). Every
//     part then gets a new generation, so late reports match nothing.
//   - A write that fails (ENOSPC) keeps the bytes that landed and counts them
//     as written; the rest of it is torn. A File with torn bytes is never
//     committed nor persisted half-written: PlanCommit and Persist fail with
//     the write's error until the bytes are written or truncated away.
//   - A File is a pending upload while its sidecar exists (Persist until
//     Committed or Remove): Close then keeps its data for LoadPending. The
//     sidecar is written atomically after the data is synced; it is sealed
//     (its size, session and uploaded parts describe the data) until the
//     first change, which rewrites it unsealed before the change is made.
//   - Names in a Dir never derive from object keys: data files are "spill-"
//     and a random id, sidecars add ".json", temporary files start ".tmp-".
//     The Dir is 0700 and locked by one mount; files are 0600.
//
// # Using it
//
// The mount writes with WriteAt and Truncate. For a sequential writer it
// calls ReadyParts with the writer's highest offset and puts the parts on the
// mount's context. To commit, it stops handing out parts and waits for those
// in flight, calls FillAll and PlanCommit, starts a new session if the plan
// says so, puts the plan's parts, completes the upload with the plan's size
// and calls Committed. When that fails it calls Persist with the session's
// state and retries later; after a restart LoadPending and PendingFile.Open
// give the File back.
//
// # Locks
//
// File.mu guards a File's state; Dir.mu guards the set of live data file
// names. Lock order: File.mu, then Dir.mu. No lock is held while fetching from
// the original. Writes to the data file (writes, fills, truncates) and the
// syncs and sidecar writes of Persist happen under File.mu, so that a fill
// cannot overwrite a newer write; reads of the data file (ReadAt after its
// fills, part Sections) take no lock.
//
// # Errors
//
// Disk errors (ENOSPC, EIO, EFBIG) are returned as the os package reports
// them, so errors.Is(err, syscall.ENOSPC) works. A failed fetch from the
// original is wrapped and leaves its bytes missing, to be fetched again. Bad
// arguments wrap fs.ErrInvalid; a closed File answers fs.ErrClosed.
// PlanCommit and Persist answer ErrNotLocal while bytes are missing, and
// PlanCommit ErrUploadsInFlight while parts are out. LoadPending logs and
// removes what it cannot use; it fails only when the directory cannot be read.
package spill
