# The test kit's process runner, Controller TOML writer and MoM runner (testing/process).
tempos_add_test(process_test SOURCES testkit/process_test.cpp LIBS tempos_testkit_process)
add_dependencies(process_test tempos-mom xdp_adapter recording_adapter)
target_include_directories(process_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/host)  # plugins/recording_test_support.hpp
