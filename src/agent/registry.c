/* Agent definitions from YAML (libyaml's document API). A definition is
 * checked whole at start-up, so that a bad file stops the process with
 * "file:line: what is wrong" instead of failing a run later. Secrets never
 * live in the YAML: keys and header values come from the environment, and
 * no error message ever quotes them. */
#include "agent/registry_internal.h"

static int f_id(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    if (registry_get_str(c, v, "id", 0, &a->id))
        return -1;
    if (!a->id || !registry_name_ok(a->id, 0))
        return registry_fail(c, v, "id must match [a-z0-9_-]{1,64}");
    return 0;
}

static int f_name(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    return registry_get_str(c, v, "name", 0, &a->name);
}

static int f_description(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    return registry_get_str(c, v, "description", 0, &a->description);
}

/* A string, or a list of strings joined with newlines (as Agno does). */
static int f_instructions(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    if (v->type != YAML_SEQUENCE_NODE)
        return registry_get_str(c, v, "instructions", 0, &a->instructions);
    size_t len = 1;
    yaml_node_item_t *it;
    for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        yaml_node_t *line = registry_node_at(c, *it);
        if (registry_check_scalar(c, line, "an instruction", "a string"))
            return -1;
        len += line->data.scalar.length + 1;
    }
    free(a->instructions);
    if (!(a->instructions = calloc(1, len)))
        return registry_fail(c, v, "out of memory");
    for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        if (it > v->data.sequence.items.start)
            strcat(a->instructions, "\n");
        strcat(a->instructions, registry_text(registry_node_at(c, *it)));
    }
    return 0;
}

static int f_history(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    return registry_get_bool(c, v, "add_history_to_context", &a->add_history_to_context);
}

static int f_num_history(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    long n = 0;
    if (registry_get_int(c, v, "num_history_runs", 0, 100, &n))
        return -1;
    a->num_history_runs = (int)n;
    return 0;
}

static int f_tool_call_limit(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    long n = 0;
    if (registry_get_int(c, v, "tool_call_limit", 1, 100, &n))
        return -1;
    a->tool_call_limit = (int)n;
    return 0;
}

static int f_max_model_turns(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    long n = 0;
    if (registry_get_int(c, v, "max_model_turns", 1, 100, &n))
        return -1;
    a->max_model_turns = (int)n;
    return 0;
}

static int f_timeout(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    long n = 0;
    if (registry_get_int(c, v, "timeout_seconds", 1, 86400, &n))
        return -1;
    a->timeout_seconds = (int)n;
    return 0;
}

/* Agno's retries are of the whole run; ours are of the model call, before
 * its first byte (the HTTP client's policy), bounded so that a run cannot
 * spend its deadline knocking. */
static int f_retries(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    long n = 0;
    if (registry_get_int(c, v, "retries", 0, 10, &n))
        return -1;
    a->retries = (int)n;
    a->has_retries = 1;
    return 0;
}

static int f_datetime(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    return registry_get_bool(c, v, "add_datetime_to_context", &a->add_datetime_to_context);
}

static int f_expected_output(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    return registry_get_str(c, v, "expected_output", 0, &a->expected_output);
}

static int f_additional_context(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    return registry_get_str(c, v, "additional_context", 0, &a->additional_context);
}

static int f_temperature(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    a->model.has_temperature = 1;
    return registry_get_num(c, v, "temperature", 0, 2, &a->model.temperature);
}

static int f_max_tokens(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    long n = 0;
    if (registry_get_int(c, v, "max_tokens", 1, 200000, &n))
        return -1;
    a->model.max_tokens = (int)n;
    return 0;
}

static int f_metadata(ctx_t *c, yaml_node_t *v, agent_def_t *a)
{
    if (registry_is_null(v))
        return 0;
    return registry_get_object(c, v, "metadata", &a->metadata);
}

typedef int (*field_fn)(ctx_t *c, yaml_node_t *v, agent_def_t *a);

static const struct field {
    const char *key;
    field_fn fn;
} fields[] = {
    {"id", f_id},
    {"name", f_name},
    {"description", f_description},
    {"instructions", f_instructions},
    {"model", registry_f_model},
    {"tools", registry_f_tools},
    {"add_history_to_context", f_history},
    {"num_history_runs", f_num_history},
    {"tool_call_limit", f_tool_call_limit},
    {"max_model_turns", f_max_model_turns},
    {"timeout_seconds", f_timeout},
    {"temperature", f_temperature},
    {"max_tokens", f_max_tokens},
    {"metadata", f_metadata},
    {"retries", f_retries},
    {"add_datetime_to_context", f_datetime},
    {"expected_output", f_expected_output},
    {"additional_context", f_additional_context},
};

static int top_pair(ctx_t *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud)
{
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (!strcmp(key, fields[i].key))
            return fields[i].fn(c, v, ud);
    const char *hint = registry_agno_unsupported(key);
    if (hint != NULL)
        return registry_fail(c, k,
                             "'%.64s' is not supported (an Agno Agent setting this runtime does "
                             "not implement)%s; docs/agents.md lists the keys",
                             key, hint);
    return registry_fail(c, k, "unknown key '%.64s' (docs/agents.md lists the keys)", key);
}

static int parse_agent(ctx_t *c, yaml_node_t *root, agent_def_t *a)
{
    a->num_history_runs = 3;
    a->tool_call_limit = 10;
    a->max_model_turns = 16;
    if (registry_each_pair(c, root, "an agent definition", top_pair, a))
        return -1;
    if (!a->id)
        return registry_fail(c, root, "id is required");
    if (!a->model_id)
        return registry_fail(c, root, "model is required");
    if (!a->name && !(a->name = strdup(a->id)))
        return registry_fail(c, root, "out of memory");
    return 0;
}

/* ---- files ---- */

/* libyaml's reader errors carry a byte offset, not a line. */
static size_t line_of_offset(const char *buf, size_t len, size_t offset)
{
    size_t line = 1;
    for (size_t i = 0; i < offset && i < len; i++)
        line += buf[i] == '\n';
    return line;
}

static int yaml_error(ctx_t *c, const yaml_parser_t *p, const char *buf, size_t len)
{
    size_t line = p->error == YAML_READER_ERROR ? line_of_offset(buf, len, p->problem_offset)
                                                : p->problem_mark.line + 1;
    return registry_fail_line(c, line, "invalid YAML: %s%s%s",
                              p->problem ? p->problem : "unknown error", p->context ? " " : "",
                              p->context ? p->context : "");
}

static char *read_file(ctx_t *c, size_t *len)
{
    FILE *f = fopen(c->file, "rb");
    if (!f) {
        snprintf(c->err, c->errlen, "%s: cannot open: %s", c->file, strerror(errno));
        return NULL;
    }
    char *buf = malloc(FILE_MAX_BYTES + 1);
    *len = buf ? fread(buf, 1, FILE_MAX_BYTES + 1, f) : 0;
    int bad = !buf || ferror(f) || *len > FILE_MAX_BYTES;
    fclose(f);
    if (bad) {
        snprintf(c->err, c->errlen, "%s: cannot read (or larger than %d bytes)", c->file,
                 FILE_MAX_BYTES);
        free(buf);
        return NULL;
    }
    return buf;
}

/* One document per file: a second one is probably a mistake. */
static int load_doc(ctx_t *c, const char *buf, size_t len, yaml_document_t *doc)
{
    yaml_parser_t p;
    yaml_document_t extra;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    int rc = yaml_parser_load(&p, doc) ? 0 : yaml_error(c, &p, buf, len);
    if (rc == 0 && !yaml_parser_load(&p, &extra)) {
        rc = yaml_error(c, &p, buf, len);
        yaml_document_delete(doc);
    } else if (rc == 0) {
        yaml_node_t *second = yaml_document_get_root_node(&extra);
        if (second)
            rc = registry_fail_line(c, second->start_mark.line + 1,
                                    "only one YAML document per file");
        yaml_document_delete(&extra);
        if (rc)
            yaml_document_delete(doc);
    }
    yaml_parser_delete(&p);
    return rc;
}

static int check_unique(ctx_t *c, const agent_registry_t *reg, const agent_def_t *a,
                        yaml_node_t *root)
{
    const agent_def_t *other = registry_find(reg, a->id);
    if (!other)
        return 0;
    /* Point at the id's own line. */
    yaml_node_t *at = root;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++)
        if (!strcmp(registry_text(registry_node_at(c, p->key)), "id"))
            at = registry_node_at(c, p->value);
    return registry_fail(c, at, "duplicate agent id '%s' (also in %s)", a->id, other->file);
}

static int append(agent_registry_t *reg, agent_def_t *a)
{
    agent_def_t *grown = realloc(reg->agents, (reg->nagents + 1) * sizeof(*grown));
    if (!grown)
        return -1;
    reg->agents = grown;
    reg->agents[reg->nagents++] = *a;
    return 0;
}

static int parse_doc(ctx_t *c, agent_registry_t *reg, agent_def_t *a)
{
    yaml_node_t *root = yaml_document_get_root_node(c->doc);
    if (!root)
        return registry_fail_line(c, 1, "the file is empty");
    if (parse_agent(c, root, a) || check_unique(c, reg, a, root))
        return -1;
    if (!(a->file = strdup(c->file)) || append(reg, a))
        return registry_fail(c, root, "out of memory");
    return 0;
}

int registry_load_file(agent_registry_t *reg, const char *path, char *err, size_t errlen)
{
    ctx_t c = {.file = path, .err = err, .errlen = errlen};
    size_t len;
    char *buf = read_file(&c, &len);
    if (!buf)
        return -1;
    yaml_document_t doc;
    int rc = load_doc(&c, buf, len, &doc);
    free(buf);
    if (rc)
        return -1;
    agent_def_t a = {0};
    c.doc = &doc;
    rc = parse_doc(&c, reg, &a);
    if (rc)
        registry_agent_free(&a);
    /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): on success append() moved a's strings into reg */
    yaml_document_delete(&doc);
    return rc;
}

/* Regular files named *.yaml or *.yml, not hidden (editors' swap files). */
static int is_agent_file(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    if (e->d_name[0] == '.')
        return 0;
    if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN && e->d_type != DT_LNK)
        return 0;
    return (n > 5 && !strcmp(e->d_name + n - 5, ".yaml")) ||
           (n > 4 && !strcmp(e->d_name + n - 4, ".yml"));
}

static int load_entry(agent_registry_t *reg, const char *dir, const char *name, char *err,
                      size_t errlen)
{
    char path[4096];
    struct stat st;
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
        snprintf(err, errlen, "%s/%s: path too long", dir, name);
        return -1;
    }
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return 0; /* a directory named x.yaml */
    return registry_load_file(reg, path, err, errlen);
}

int registry_load(agent_registry_t *reg, const char *dir, char *err, size_t errlen)
{
    struct dirent **list;
    memset(reg, 0, sizeof(*reg));
    int n = scandir(dir, &list, is_agent_file, alphasort);
    if (n < 0) {
        snprintf(err, errlen, "%s: cannot read the agents directory: %s", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (rc == 0)
            rc = load_entry(reg, dir, list[i]->d_name, err, errlen);
        free(list[i]);
    }
    free(list);
    if (rc)
        registry_free(reg);
    return rc;
}

void registry_free(agent_registry_t *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->nagents; i++)
        registry_agent_free(&reg->agents[i]);
    free(reg->agents);
    reg->agents = NULL;
    reg->nagents = 0;
}

const agent_def_t *registry_find(const agent_registry_t *reg, const char *id)
{
    for (size_t i = 0; reg && id && i < reg->nagents; i++)
        if (!strcmp(reg->agents[i].id, id))
            return &reg->agents[i];
    return NULL;
}
