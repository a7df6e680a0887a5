import { Button, Center, Paper, PasswordInput, Stack, TextInput, Title } from "@mantine/core";
import { type FormEvent, useState } from "react";
import { Navigate, useNavigate, useSearchParams } from "react-router";
import { logIn } from "../api";
import { useAuth } from "../auth";
import { FormError } from "../components";

export function LoginPage() {
  const { session, setSession } = useAuth();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [username, setUsername] = useState("admin");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  // Only paths of this site: `next` comes from the URL and must not send the user elsewhere.
  const next =
    params.get("next")?.startsWith("/") && !params.get("next")?.startsWith("//") ? params.get("next") : null;

  if (session) return <Navigate to={next ?? "/connections"} replace />;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const s = await logIn(username, password);
      setSession(s);
      navigate(next ?? "/connections", { replace: true });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Center mih="100vh" p="md">
      <Paper component="main" withBorder shadow="sm" p="xl" w="100%" maw={380}>
        <form onSubmit={submit} aria-labelledby="login-title">
          <Stack>
            <Title order={1} id="login-title" size="h2">
              Log in to bitbridge
            </Title>
            <FormError error={error} />
            <TextInput
              label="Username"
              autoComplete="username"
              required
              value={username}
              onChange={(e) => setUsername(e.currentTarget.value)}
            />
            <PasswordInput
              label="Password"
              autoComplete="current-password"
              required
              data-autofocus
              autoFocus
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
            />
            <Button type="submit" loading={busy}>
              Log in
            </Button>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
