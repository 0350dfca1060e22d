// Finding and lowering the best-effort cpumap's threads (cpumap_threads.hpp), on threads of this test named as the
// kernel names them: /proc/self/task lists them as /proc lists kernel threads, and raising a nice value needs no
// privilege.
#include <gtest/gtest.h>

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <string>
#include <thread>

#include "cpumap_threads.hpp"

namespace tempos::xdp {
namespace {

// A thread named `name` that lives until the object goes; tid() is its thread id.
class NamedThread {
public:
    explicit NamedThread(const std::string& name) {
        std::future<pid_t> tid = started_.get_future();
        thread_ = std::thread([this, name] {
            pthread_setname_np(pthread_self(), name.c_str());
            started_.set_value(static_cast<pid_t>(::syscall(SYS_gettid)));
            while (!stop_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        });
        tid_ = tid.get();
    }
    ~NamedThread() {
        stop_ = true;
        thread_.join();
    }
    pid_t tid() const { return tid_; }

private:
    std::promise<pid_t> started_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    pid_t tid_ = 0;
};

int nice_of(pid_t tid) {
    errno = 0;
    return ::getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
}

TEST(CpumapThreads, EachCpusThreadOfTheMapIsFoundAndLowered) {
    NamedThread cpu0("cpumap/0/map:7");
    NamedThread cpu1("cpumap/1/map:7");
    NamedThread other_map("cpumap/0/map:77");
    ASSERT_EQ(nice_of(cpu0.tid()), 0);

    const Result<std::map<unsigned, pid_t>> found = find_cpumap_threads(7, {0, 1}, "/proc/self/task");
    ASSERT_TRUE(found.is_ok()) << found.message();
    EXPECT_EQ(*found, (std::map<unsigned, pid_t>{{0, cpu0.tid()}, {1, cpu1.tid()}}));

    ASSERT_TRUE(renice_cpumap_threads(7, {0, 1}, 19, "/proc/self/task").is_ok());
    EXPECT_EQ(nice_of(cpu0.tid()), 19);
    EXPECT_EQ(nice_of(cpu1.tid()), 19);
    EXPECT_EQ(nice_of(other_map.tid()), 0) << "another map's thread is left alone";
}

TEST(CpumapThreads, AMissingThreadIsAnErrorNamingIt) {
    NamedThread cpu0("cpumap/0/map:8");
    const Status missing = renice_cpumap_threads(8, {0, 1}, 19, "/proc/self/task");
    EXPECT_EQ(missing.code(), ErrorCode::not_found);
    EXPECT_NE(missing.message().find("no kernel thread cpumap/1/map:8"), std::string::npos) << missing.message();
    EXPECT_EQ(nice_of(cpu0.tid()), 0) << "nothing changed when one is missing";
}

}  // namespace
}  // namespace tempos::xdp
