// Starts `typeinf lsp` for Python, TypeScript and TSX files and passes the typeinf.* settings.
import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";

let client: LanguageClient | undefined;

function settings(): Record<string, unknown> {
  const c = vscode.workspace.getConfiguration("typeinf");
  return {
    typeinf: {
      inlayHints: {
        parameters: c.get<boolean>("inlayHints.parameters", true),
        returns: c.get<boolean>("inlayHints.returns", true),
        variables: c.get<boolean>("inlayHints.variables", true),
      },
      minConfidence: c.get<number | null>("minConfidence", null),
      maxHints: c.get<number>("maxHints", 500),
    },
  };
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const command = vscode.workspace.getConfiguration("typeinf").get<string[]>("path", ["typeinf"]);
  const [exe, ...args] = command.length > 0 ? command : ["typeinf"];
  const serverOptions: ServerOptions = {
    command: exe,
    args: [...args, "lsp"],
    transport: TransportKind.stdio,
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "python" },
      { scheme: "file", language: "typescript" },
      { scheme: "file", language: "typescriptreact" },
    ],
    initializationOptions: settings(),
  };
  client = new LanguageClient("typeinf", "typeinf", serverOptions, clientOptions);
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("typeinf") && client) {
        void client.sendNotification("workspace/didChangeConfiguration", { settings: settings() });
      }
    }),
  );
  await client.start();
}

export async function deactivate(): Promise<void> {
  if (client) {
    await client.stop();
    client = undefined;
  }
}
