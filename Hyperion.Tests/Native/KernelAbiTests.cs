using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using Hyperion.Native;
using Hyperion.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Hyperion.Tests.Native;

/// <summary>
/// Our struct layouts and constants against the kernel's own header: a tiny C program compiled against
/// linux/io_uring.h prints what the kernel means, and every value we wrote by hand must agree.
/// </summary>
public class KernelAbiTests(ITestOutputHelper output)
{
    private static readonly (string CName, Func<long> Ours)[] Constants =
    [
        ("IORING_SETUP_IOPOLL", () => SetupFlags.IoPoll), ("IORING_SETUP_SQPOLL", () => SetupFlags.SqPoll),
        ("IORING_SETUP_SQ_AFF", () => SetupFlags.SqAff), ("IORING_SETUP_CQSIZE", () => SetupFlags.CqSize),
        ("IORING_SETUP_CLAMP", () => SetupFlags.Clamp), ("IORING_SETUP_ATTACH_WQ", () => SetupFlags.AttachWq),
        ("IORING_SETUP_R_DISABLED", () => SetupFlags.RDisabled), ("IORING_SETUP_SUBMIT_ALL", () => SetupFlags.SubmitAll),
        ("IORING_SETUP_COOP_TASKRUN", () => SetupFlags.CoopTaskrun), ("IORING_SETUP_TASKRUN_FLAG", () => SetupFlags.TaskrunFlag),
        ("IORING_SETUP_SQE128", () => SetupFlags.Sqe128), ("IORING_SETUP_CQE32", () => SetupFlags.Cqe32),
        ("IORING_SETUP_SINGLE_ISSUER", () => SetupFlags.SingleIssuer), ("IORING_SETUP_DEFER_TASKRUN", () => SetupFlags.DeferTaskrun),
        ("IORING_ENTER_GETEVENTS", () => EnterFlags.GetEvents), ("IORING_ENTER_SQ_WAKEUP", () => EnterFlags.SqWakeup),
        ("IORING_ENTER_SQ_WAIT", () => EnterFlags.SqWait), ("IORING_ENTER_EXT_ARG", () => EnterFlags.ExtArg),
        ("IORING_ENTER_REGISTERED_RING", () => EnterFlags.RegisteredRing),
        ("IORING_FEAT_SINGLE_MMAP", () => Features.SingleMmap), ("IORING_FEAT_NODROP", () => Features.NoDrop),
        ("IORING_FEAT_SUBMIT_STABLE", () => Features.SubmitStable), ("IORING_FEAT_RW_CUR_POS", () => Features.RwCurPos),
        ("IORING_FEAT_CUR_PERSONALITY", () => Features.CurPersonality), ("IORING_FEAT_FAST_POLL", () => Features.FastPoll),
        ("IORING_FEAT_POLL_32BITS", () => Features.Poll32Bits), ("IORING_FEAT_SQPOLL_NONFIXED", () => Features.SqPollNonFixed),
        ("IORING_FEAT_EXT_ARG", () => Features.ExtArg), ("IORING_FEAT_NATIVE_WORKERS", () => Features.NativeWorkers),
        ("IORING_FEAT_RSRC_TAGS", () => Features.RsrcTags), ("IORING_FEAT_CQE_SKIP", () => Features.CqeSkip),
        ("IORING_FEAT_LINKED_FILE", () => Features.LinkedFile),
        ("IOSQE_FIXED_FILE", () => SqeFlags.FixedFile), ("IOSQE_IO_DRAIN", () => SqeFlags.IoDrain),
        ("IOSQE_IO_LINK", () => SqeFlags.IoLink), ("IOSQE_IO_HARDLINK", () => SqeFlags.IoHardlink),
        ("IOSQE_ASYNC", () => SqeFlags.Async), ("IOSQE_BUFFER_SELECT", () => SqeFlags.BufferSelect),
        ("IOSQE_CQE_SKIP_SUCCESS", () => SqeFlags.CqeSkipSuccess),
        ("IORING_CQE_F_BUFFER", () => CqeFlags.Buffer), ("IORING_CQE_F_MORE", () => CqeFlags.More),
        ("IORING_CQE_F_SOCK_NONEMPTY", () => CqeFlags.SockNonEmpty), ("IORING_CQE_F_NOTIF", () => CqeFlags.Notif),
        ("IORING_CQE_BUFFER_SHIFT", () => CqeFlags.BufferShift),
        ("IORING_ACCEPT_MULTISHOT", () => OpFlags.AcceptMultishot), ("IORING_RECVSEND_POLL_FIRST", () => OpFlags.RecvSendPollFirst),
        ("IORING_RECV_MULTISHOT", () => OpFlags.RecvMultishot), ("IORING_ASYNC_CANCEL_ALL", () => OpFlags.AsyncCancelAll),
        ("IORING_ASYNC_CANCEL_FD", () => OpFlags.AsyncCancelFd), ("IORING_ASYNC_CANCEL_ANY", () => OpFlags.AsyncCancelAny),
        ("IORING_TIMEOUT_ABS", () => OpFlags.TimeoutAbs), ("IORING_TIMEOUT_ETIME_SUCCESS", () => OpFlags.TimeoutEtimeSuccess),
        ("IORING_MSG_DATA", () => OpFlags.MsgData), ("IORING_REGISTER_PROBE", () => OpFlags.RegisterProbe),
        ("IORING_REGISTER_PBUF_RING", () => OpFlags.RegisterPbufRing), ("IORING_UNREGISTER_PBUF_RING", () => OpFlags.UnregisterPbufRing),
        ("IORING_REGISTER_RING_FDS", () => OpFlags.RegisterRingFds),
        ("IORING_OFF_SQ_RING", () => (long)OpFlags.OffSqRing), ("IORING_OFF_CQ_RING", () => (long)OpFlags.OffCqRing),
        ("IORING_OFF_SQES", () => (long)OpFlags.OffSqes),
        ("IORING_SQ_NEED_WAKEUP", () => OpFlags.SqNeedWakeup), ("IORING_SQ_CQ_OVERFLOW", () => OpFlags.SqCqOverflow),
        ("IORING_SQ_TASKRUN", () => OpFlags.SqTaskrun), ("IO_URING_OP_SUPPORTED", () => OpFlags.ProbeOpSupported),
    ];

    private static readonly (string Struct, Type Type, (string CField, string OurField)[] Fields)[] Structs =
    [
        ("io_uring_sqe", typeof(IoUringSqe),
        [
            ("opcode", "Opcode"), ("flags", "Flags"), ("ioprio", "IoPrio"), ("fd", "Fd"), ("off", "Off"), ("addr2", "Addr2"),
            ("addr", "Addr"), ("len", "Len"), ("msg_flags", "OpFlags"), ("accept_flags", "OpFlags"), ("cancel_flags", "OpFlags"),
            ("user_data", "UserData"), ("buf_index", "BufIndex"), ("buf_group", "BufGroup"), ("personality", "Personality"),
            ("splice_fd_in", "SpliceFdIn"), ("file_index", "SpliceFdIn"), ("addr3", "Addr3"),
        ]),
        ("io_uring_cqe", typeof(IoUringCqe), [("user_data", "UserData"), ("res", "Res"), ("flags", "Flags")]),
        ("io_uring_params", typeof(IoUringParams),
        [
            ("sq_entries", "SqEntries"), ("cq_entries", "CqEntries"), ("flags", "Flags"), ("sq_thread_cpu", "SqThreadCpu"),
            ("sq_thread_idle", "SqThreadIdle"), ("features", "Features"), ("wq_fd", "WqFd"), ("sq_off", "SqOff"), ("cq_off", "CqOff"),
        ]),
        ("io_sqring_offsets", typeof(SqRingOffsets),
        [
            ("head", "Head"), ("tail", "Tail"), ("ring_mask", "RingMask"), ("ring_entries", "RingEntries"), ("flags", "Flags"),
            ("dropped", "Dropped"), ("array", "Array"), ("resv2", "Resv2"),
        ]),
        ("io_cqring_offsets", typeof(CqRingOffsets),
        [
            ("head", "Head"), ("tail", "Tail"), ("ring_mask", "RingMask"), ("ring_entries", "RingEntries"), ("overflow", "Overflow"),
            ("cqes", "Cqes"), ("flags", "Flags"), ("resv2", "Resv2"),
        ]),
        ("io_uring_buf", typeof(IoUringBuf), [("addr", "Addr"), ("len", "Len"), ("bid", "Bid"), ("resv", "Resv")]),
        ("io_uring_buf_reg", typeof(IoUringBufReg), [("ring_addr", "RingAddr"), ("ring_entries", "RingEntries"), ("bgid", "Bgid"), ("pad", "Pad")]),
    ];

    [RequiresToolFact("gcc")]
    public async Task Layouts_and_constants_match_linux_io_uring_h()
    {
        File.Exists("/usr/include/linux/io_uring.h").Should().BeTrue("linux-libc-dev provides the header next to gcc");
        var c = new StringBuilder("#include <stdio.h>\n#include <stddef.h>\n#include <linux/io_uring.h>\nint main(void) {\n");
        foreach (var (name, _) in Constants)
        {
            c.Append($"  printf(\"{name} %lld\\n\", (long long)({name}));\n");
        }

        foreach (var op in Enum.GetValues<IoUringOp>())
        {
            c.Append($"  printf(\"op:{op} %d\\n\", (int)IORING_OP_{OpName(op)});\n");
        }

        foreach (var (s, _, fields) in Structs)
        {
            c.Append($"  printf(\"sizeof:{s} %zu\\n\", sizeof(struct {s}));\n");
            foreach (var (cf, _) in fields)
            {
                c.Append($"  printf(\"offsetof:{s}.{cf} %zu\\n\", offsetof(struct {s}, {cf}));\n");
            }
        }

        c.Append("  return 0;\n}\n");
        var kernel = await CProgram.RunAsync(c.ToString(), output);

        var mismatches = new List<string>();
        foreach (var (name, ours) in Constants)
        {
            Compare(name, ours(), kernel, mismatches);
        }

        foreach (var op in Enum.GetValues<IoUringOp>())
        {
            Compare($"op:{op}", (long)op, kernel, mismatches);
        }

        foreach (var (s, type, fields) in Structs)
        {
            Compare($"sizeof:{s}", Marshal.SizeOf(type), kernel, mismatches);
            foreach (var (cf, of) in fields)
            {
                Compare($"offsetof:{s}.{cf}", Marshal.OffsetOf(type, of).ToInt64(), kernel, mismatches);
            }
        }

        mismatches.Should().BeEmpty();
        kernel.Count.Should().Be(Constants.Length + Enum.GetValues<IoUringOp>().Length + Structs.Sum(s => 1 + s.Fields.Length));
    }

    private static void Compare(string key, long ours, Dictionary<string, long> kernel, List<string> mismatches)
    {
        if (!kernel.TryGetValue(key, out var theirs))
        {
            mismatches.Add($"{key}: not printed by the C program");
        }
        else if (theirs != ours)
        {
            mismatches.Add($"{key}: ours {ours}, kernel {theirs}");
        }
    }

    private static string OpName(IoUringOp op) => op switch
    {
        IoUringOp.ReadFixed => "READ_FIXED",
        IoUringOp.WriteFixed => "WRITE_FIXED",
        IoUringOp.PollAdd => "POLL_ADD",
        IoUringOp.PollRemove => "POLL_REMOVE",
        IoUringOp.SyncFileRange => "SYNC_FILE_RANGE",
        IoUringOp.SendMsg => "SENDMSG",
        IoUringOp.RecvMsg => "RECVMSG",
        IoUringOp.TimeoutRemove => "TIMEOUT_REMOVE",
        IoUringOp.AsyncCancel => "ASYNC_CANCEL",
        IoUringOp.LinkTimeout => "LINK_TIMEOUT",
        IoUringOp.OpenAt => "OPENAT",
        IoUringOp.FilesUpdate => "FILES_UPDATE",
        IoUringOp.OpenAt2 => "OPENAT2",
        IoUringOp.EpollCtl => "EPOLL_CTL",
        IoUringOp.ProvideBuffers => "PROVIDE_BUFFERS",
        IoUringOp.RemoveBuffers => "REMOVE_BUFFERS",
        IoUringOp.RenameAt => "RENAMEAT",
        IoUringOp.UnlinkAt => "UNLINKAT",
        IoUringOp.MkdirAt => "MKDIRAT",
        IoUringOp.SymlinkAt => "SYMLINKAT",
        IoUringOp.LinkAt => "LINKAT",
        IoUringOp.MsgRing => "MSG_RING",
        IoUringOp.FSetXattr => "FSETXATTR",
        IoUringOp.SetXattr => "SETXATTR",
        IoUringOp.FGetXattr => "FGETXATTR",
        IoUringOp.GetXattr => "GETXATTR",
        IoUringOp.UringCmd => "URING_CMD",
        IoUringOp.SendZc => "SEND_ZC",
        IoUringOp.SendMsgZc => "SENDMSG_ZC",
        _ => op.ToString().ToUpperInvariant(),
    };
}
