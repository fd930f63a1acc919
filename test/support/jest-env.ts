// The Lambda runs on Node.js 22+; this machine's Node 20 only makes the SDK warn on every file.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
