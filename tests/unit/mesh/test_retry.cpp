#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "adashta/mesh/mesh.hpp"

using namespace adashta::mesh;
using namespace std::chrono_literals;

namespace {

struct Retries : MeshHandler {
    std::atomic<int> calls{0};
    std::atomic<bool> again{false};  // asks for another call from on_retry
    Mesh* mesh = nullptr;
    void on_retry() override {
        ++calls;
        if (again.exchange(false)) mesh->retry_soon();
    }
};

// Runs f on the mesh thread and waits for it.
void on_mesh(Mesh& mesh, const std::function<void()>& f) {
    std::promise<void> done;
    mesh.post([&] {
        f();
        done.set_value();
    });
    REQUIRE(done.get_future().wait_for(5s) == std::future_status::ready);
}

bool wait_calls(const Retries& r, int n) {
    for (auto deadline = std::chrono::steady_clock::now() + 5s;
         std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(1ms))
        if (r.calls >= n) return true;
    return false;
}

}  // namespace

TEST_CASE("retry_soon calls on_retry once however often it is asked, and again if asked again",
          "[mesh]") {
    Retries retries;
    Mesh mesh{{}, retries};
    retries.mesh = &mesh;
    REQUIRE(mesh.start());

    on_mesh(mesh, [&] {
        mesh.retry_soon();
        mesh.retry_soon();
    });
    REQUIRE(wait_calls(retries, 1));
    std::this_thread::sleep_for(50ms);
    CHECK(retries.calls == 1);

    // Asked again from on_retry itself: one more call.
    retries.again = true;
    on_mesh(mesh, [&] { mesh.retry_soon(); });
    REQUIRE(wait_calls(retries, 3));
    std::this_thread::sleep_for(50ms);
    CHECK(retries.calls == 3);
    mesh.stop();
}
