// A fake libnvrtc.so.13 for the host emulator: "compiles" a CUDA program with g++ into a host shared object.
// nvrtcCompileProgram writes the source and the in-memory headers to a temporary folder, preprocesses the source
// as NVRTC would see it (no system headers), finds every `extern "C" __global__ void NAME(` there (kernels made by
// macros included), and builds source + one exported launcher per kernel with
// `g++ -std=c++17 -O2 -shared -fPIC -include kernel_runtime.h`. The image (CUBIN or PTX) is
// "COCHLEA-EMU-SO\0\0\0" + u64 length + the .so's bytes (+ a NUL for PTX): the fake libcuda.so.1 loads it.
// The compile log is g++'s stderr. Options are checked against the documented NVRTC ones.
#include <dlfcn.h>
#include <regex>
#include <set>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>
#include <fstream>
#include <sstream>
#include <spawn.h>
#include <fcntl.h>
#include <errno.h>

extern char** environ;

typedef enum {
    NVRTC_SUCCESS = 0, NVRTC_ERROR_OUT_OF_MEMORY = 1, NVRTC_ERROR_PROGRAM_CREATION_FAILURE = 2, NVRTC_ERROR_INVALID_INPUT = 3,
    NVRTC_ERROR_INVALID_PROGRAM = 4, NVRTC_ERROR_INVALID_OPTION = 5, NVRTC_ERROR_COMPILATION = 6, NVRTC_ERROR_BUILTIN_OPERATION_FAILURE = 7,
    NVRTC_ERROR_NO_NAME_EXPRESSIONS_AFTER_COMPILATION = 8, NVRTC_ERROR_NO_LOWERED_NAMES_BEFORE_COMPILATION = 9,
    NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID = 10, NVRTC_ERROR_INTERNAL_ERROR = 11,
} nvrtcResult;

#define EXPORT extern "C" __attribute__((visibility("default")))

static const char Magic[16] = "COCHLEA-EMU-SO\0";
static const int Archs[] = { 75, 80, 86, 87, 89, 90, 100, 103, 110, 120 };

struct Program
{
    std::string source, name;
    std::vector<std::pair<std::string, std::string>> headers; // include name, text
    std::string log, image;                                  // image: header + .so (empty until compiled)
    int arch = 0;
    bool virtualArch = false, compiled = false;
};

static std::set<Program*> g_programs;

static bool valid(Program* p) { return p && g_programs.count(p); }

EXPORT const char* nvrtcGetErrorString(nvrtcResult r)
{
    static const char* names[] = {
        "NVRTC_SUCCESS", "NVRTC_ERROR_OUT_OF_MEMORY", "NVRTC_ERROR_PROGRAM_CREATION_FAILURE", "NVRTC_ERROR_INVALID_INPUT",
        "NVRTC_ERROR_INVALID_PROGRAM", "NVRTC_ERROR_INVALID_OPTION", "NVRTC_ERROR_COMPILATION", "NVRTC_ERROR_BUILTIN_OPERATION_FAILURE",
        "NVRTC_ERROR_NO_NAME_EXPRESSIONS_AFTER_COMPILATION", "NVRTC_ERROR_NO_LOWERED_NAMES_BEFORE_COMPILATION",
        "NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID", "NVRTC_ERROR_INTERNAL_ERROR" };
    return (unsigned)r < sizeof names / sizeof *names ? names[r] : "NVRTC_ERROR unknown";
}

EXPORT nvrtcResult nvrtcVersion(int* major, int* minor)
{
    if (!major || !minor) return NVRTC_ERROR_INVALID_INPUT;
    *major = 13; *minor = 0;
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcGetNumSupportedArchs(int* n)
{
    if (!n) return NVRTC_ERROR_INVALID_INPUT;
    *n = sizeof Archs / sizeof *Archs;
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcGetSupportedArchs(int* a)
{
    if (!a) return NVRTC_ERROR_INVALID_INPUT;
    memcpy(a, Archs, sizeof Archs);
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcCreateProgram(Program** prog, const char* src, const char* name, int numHeaders, const char* const* headers, const char* const* includeNames)
{
    if (!prog || !src || numHeaders < 0 || (numHeaders > 0 && (!headers || !includeNames))) return NVRTC_ERROR_INVALID_INPUT;
    auto* p = new Program;
    p->source = src;
    p->name = name ? name : "default_program";
    for (int i = 0; i < numHeaders; i++)
    {
        if (!includeNames[i]) { delete p; return NVRTC_ERROR_INVALID_INPUT; }
        p->headers.emplace_back(includeNames[i], headers[i] ? headers[i] : "");
    }
    g_programs.insert(p);
    *prog = p;
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcDestroyProgram(Program** prog)
{
    if (!prog || !valid(*prog)) return NVRTC_ERROR_INVALID_PROGRAM;
    g_programs.erase(*prog);
    delete *prog;
    *prog = nullptr;
    return NVRTC_SUCCESS;
}

// The folder this library was loaded from: build.sh puts kernel_runtime.h and shim_common.h beside it.
static std::string self_dir()
{
    Dl_info info;
    if (!dladdr((void*)&self_dir, &info) || !info.dli_fname) return ".";
    std::string f = info.dli_fname;
    size_t s = f.rfind('/');
    return s == std::string::npos ? "." : f.substr(0, s);
}

// Runs argv with stderr (and stdout) appended to `log`; returns the exit status (-1 when it could not run).
static int run(const std::vector<std::string>& argv, std::string& log, const std::string& dir)
{
    std::string errFile = dir + "/stderr.txt";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, errFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back((char*)a.c_str());
    args.push_back(nullptr);
    pid_t pid;
    int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) { log += "cannot run " + argv[0] + ": " + strerror(rc) + "\n"; return -1; }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) { status = -1; break; }  // reaped elsewhere: judge by the output file
    std::ifstream in(errFile);
    std::stringstream ss;
    ss << in.rdbuf();
    log += ss.str();
    if (status == -1) return -2;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool write_file(const std::string& path, const std::string& text)
{
    // Include names may contain folders ("sub/x.cuh").
    for (size_t s = path.find('/', 1); s != std::string::npos; s = path.find('/', s + 1)) mkdir(path.substr(0, s).c_str(), 0755);
    FILE* f = fopen(path.c_str(), "wb");
    if (!f) return false;
    bool ok = fwrite(text.data(), 1, text.size(), f) == text.size();
    return fclose(f) == 0 && ok;
}

static bool read_file(const std::string& path, std::string& out)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::stringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return true;
}

// Parses the documented NVRTC options we meet; anything else is rejected as real NVRTC does.
static nvrtcResult parse_options(Program* p, int n, const char* const* options, std::string& std, std::vector<std::string>& extra)
{
    p->arch = 75; // the oldest architecture NVRTC 13 supports is its default target
    p->virtualArch = true;
    std = "c++17";
    static const std::set<std::string> flags = {
        "-G", "--device-debug", "-lineinfo", "--generate-line-info", "-use_fast_math", "--use_fast_math", "-rdc=true", "-rdc=false",
        "--relocatable-device-code=true", "--relocatable-device-code=false", "-ewp", "--extensible-whole-program", "-w",
        "--disable-warnings", "-restrict", "--restrict", "-default-device", "--device-as-default-execution-space",
        "-dopt=on", "-dopt=off", "--dopt=on", "--dopt=off", "-dw", "--device-w", "--extra-device-vectorization", "-extra-device-vectorization",
        "-ftz=true", "-ftz=false", "--ftz=true", "--ftz=false", "-prec-sqrt=true", "-prec-sqrt=false", "--prec-sqrt=true", "--prec-sqrt=false",
        "-prec-div=true", "-prec-div=false", "--prec-div=true", "--prec-div=false", "-fmad=true", "-fmad=false", "--fmad=true", "--fmad=false",
        "-builtin-move-forward=true", "-builtin-move-forward=false", "-builtin-initializer-list=true", "-builtin-initializer-list=false",
        "--disable-warnings", "-Werror=all-warnings", "--Werror=all-warnings", "-no-source-include", "--no-source-include" };
    for (int i = 0; i < n; i++)
    {
        if (!options[i]) return NVRTC_ERROR_INVALID_INPUT;
        std::string o = options[i];
        std::string v;
        auto value = [&](const char* a) { size_t l = strlen(a); if (o.compare(0, l, a) == 0) { v = o.substr(l); return true; } return false; };
        if (value("--gpu-architecture=") || value("-arch=") || value("--gpu-architecture ") || value("-arch "))
        {
            std::smatch m;
            if (!std::regex_match(v, m, std::regex("(sm|compute)_([0-9]+)[af]?"))) return NVRTC_ERROR_INVALID_OPTION;
            int a = std::stoi(m[2].str());
            bool known = false;
            for (int s : Archs) known |= s == a;
            if (!known) return NVRTC_ERROR_INVALID_OPTION;
            p->arch = a;
            p->virtualArch = m[1].str() == "compute";
        }
        else if (value("-std=") || value("--std="))
        {
            if (v != "c++03" && v != "c++11" && v != "c++14" && v != "c++17" && v != "c++20") return NVRTC_ERROR_INVALID_OPTION;
            std = v == "c++03" ? "c++03" : v;
        }
        else if (value("-D") || value("--define-macro=")) { if (v.empty()) return NVRTC_ERROR_INVALID_OPTION; extra.push_back("-D" + v); }
        else if (value("-U") || value("--undefine-macro=")) { if (v.empty()) return NVRTC_ERROR_INVALID_OPTION; extra.push_back("-U" + v); }
        else if (value("-I") || value("--include-path=")) { if (v.empty()) return NVRTC_ERROR_INVALID_OPTION; extra.push_back("-I" + v); }
        else if (value("-include=") || value("--pre-include=")) { if (v.empty()) return NVRTC_ERROR_INVALID_OPTION; extra.push_back("-include"); extra.push_back(v); }
        else if (value("-maxrregcount=") || value("--maxrregcount=")) { if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) return NVRTC_ERROR_INVALID_OPTION; }
        else if (!flags.count(o)) return NVRTC_ERROR_INVALID_OPTION;
    }
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcCompileProgram(Program* p, int numOptions, const char* const* options)
{
    if (!valid(p)) return NVRTC_ERROR_INVALID_PROGRAM;
    if (numOptions < 0 || (numOptions > 0 && !options)) return NVRTC_ERROR_INVALID_INPUT;
    p->log.clear();
    p->image.clear();
    p->compiled = false;
    std::string std;
    std::vector<std::string> extra;
    if (nvrtcResult r = parse_options(p, numOptions, options, std, extra)) return r;

    char tmpl[] = "/tmp/cochlea-nvrtc-XXXXXX";
    if (!mkdtemp(tmpl)) return NVRTC_ERROR_INTERNAL_ERROR;
    std::string dir = tmpl;
    std::string base = p->name;
    for (char& c : base) if (c == '/' || c == ' ') c = '_';
    std::string src = dir + "/" + base;
    bool ok = write_file(src, p->source);
    for (auto& h : p->headers) ok &= write_file(dir + "/" + h.first, h.second);
    if (!ok) { p->log = "cannot write the program to " + dir + "\n"; return NVRTC_ERROR_INTERNAL_ERROR; }
    std::string cxx = getenv("CXX") && *getenv("CXX") ? getenv("CXX") : "g++";
    std::string archDef = "-D__CUDA_ARCH__=" + std::to_string(p->arch * 10);
    std::string gstd = "-std=" + (std == "c++03" ? std::string("c++03") : std);

    // 1. Preprocess as NVRTC sees it: no system headers; the kernels are what the preprocessed text declares.
    std::vector<std::string> pre = { cxx, "-E", "-P", "-x", "c++", gstd, "-nostdinc", "-D__CUDACC__", "-D__CUDACC_RTC__", "-D__NVCC__", archDef, "-I", dir };
    pre.insert(pre.end(), extra.begin(), extra.end());
    pre.insert(pre.end(), { src, "-o", dir + "/pre.ii" });
    int rc = run(pre, p->log, dir);
    std::string text;
    if (rc != 0 || !read_file(dir + "/pre.ii", text)) { run({ "rm", "-rf", dir }, text, "/tmp"); return NVRTC_ERROR_COMPILATION; }
    std::regex kernelRe(R"re(extern\s+"C"\s+__global__\s+(?:__launch_bounds__\s*\([^)]*\)\s+)?void\s+(?:__launch_bounds__\s*\([^)]*\)\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*\()re");
    std::set<std::string> kernels;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), kernelRe); it != std::sregex_iterator(); ++it) kernels.insert((*it)[1].str());

    // 2. The program plus one launcher per kernel, built for the host.
    std::string main = "#include \"" + base + "\"\n";
    for (auto& k : kernels) main += "EMU_LAUNCHER(" + k + ")\n";
    write_file(dir + "/emu_main.cpp", main);
    std::string here = self_dir();
    // -fsanitize=alignment, trapping (no runtime library): an access below its type's alignment (a float4 load at an
    // address that is not a multiple of 16) dies with SIGILL where a GPU stops with CUDA_ERROR_MISALIGNED_ADDRESS
    // (x86 would read it fine).
    std::vector<std::string> cc = { cxx, gstd == "-std=c++03" ? "-std=c++17" : gstd, "-O2", "-shared", "-fPIC", "-fvisibility=hidden", "-ffp-contract=off",
                                    "-fsanitize=alignment", "-fsanitize-undefined-trap-on-error",
                                    "-w", "-D__CUDACC__", "-D__CUDACC_RTC__", "-D__NVCC__", archDef, "-I", dir, "-I", here, "-include", here + "/kernel_runtime.h" };
    cc.insert(cc.end(), extra.begin(), extra.end());
    cc.insert(cc.end(), { dir + "/emu_main.cpp", "-o", dir + "/program.so" });
    rc = run(cc, p->log, dir);
    std::string so;
    bool built = rc == 0 || (rc == -2 && read_file(dir + "/program.so", so));
    if (built && so.empty() && !read_file(dir + "/program.so", so)) built = false;
    std::string ignore;
    run({ "rm", "-rf", dir }, ignore, "/tmp");
    if (!built) return NVRTC_ERROR_COMPILATION;
    unsigned long long len = so.size();
    p->image.assign(Magic, sizeof Magic);
    p->image.append((const char*)&len, sizeof len);
    p->image += so;
    p->compiled = true;
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcGetProgramLogSize(Program* p, size_t* size)
{
    if (!valid(p)) return NVRTC_ERROR_INVALID_PROGRAM;
    if (!size) return NVRTC_ERROR_INVALID_INPUT;
    *size = p->log.size() + 1;
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcGetProgramLog(Program* p, char* log)
{
    if (!valid(p)) return NVRTC_ERROR_INVALID_PROGRAM;
    if (!log) return NVRTC_ERROR_INVALID_INPUT;
    memcpy(log, p->log.c_str(), p->log.size() + 1);
    return NVRTC_SUCCESS;
}

// A CUBIN exists only for a real architecture (sm_XX); NVRTC answers INVALID_INPUT for a compute_XX program.
EXPORT nvrtcResult nvrtcGetCUBINSize(Program* p, size_t* size)
{
    if (!valid(p)) return NVRTC_ERROR_INVALID_PROGRAM;
    if (!size || !p->compiled || p->virtualArch) return NVRTC_ERROR_INVALID_INPUT;
    *size = p->image.size();
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcGetCUBIN(Program* p, char* out)
{
    if (!valid(p)) return NVRTC_ERROR_INVALID_PROGRAM;
    if (!out || !p->compiled || p->virtualArch) return NVRTC_ERROR_INVALID_INPUT;
    memcpy(out, p->image.data(), p->image.size());
    return NVRTC_SUCCESS;
}

// PTX: the same image, NUL-terminated; the size counts the NUL as NVRTC's does.
EXPORT nvrtcResult nvrtcGetPTXSize(Program* p, size_t* size)
{
    if (!valid(p)) return NVRTC_ERROR_INVALID_PROGRAM;
    if (!size || !p->compiled) return NVRTC_ERROR_INVALID_INPUT;
    *size = p->image.size() + 1;
    return NVRTC_SUCCESS;
}

EXPORT nvrtcResult nvrtcGetPTX(Program* p, char* out)
{
    if (!valid(p)) return NVRTC_ERROR_INVALID_PROGRAM;
    if (!out || !p->compiled) return NVRTC_ERROR_INVALID_INPUT;
    memcpy(out, p->image.data(), p->image.size());
    out[p->image.size()] = 0;
    return NVRTC_SUCCESS;
}
