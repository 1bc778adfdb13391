/**
 * My account (the masthead's user menu): the signed-in user's own settings, which need no
 * permission: their password, MFA, API tokens, and their sessions elsewhere.
 */
import {
  Button,
  Card,
  CardBody,
  CardTitle,
  Content,
  Grid,
  GridItem,
  PageSection,
} from "@patternfly/react-core";

import { useMe } from "../../api/queries";
import { useDialogs } from "../common/DialogHost";
import { QueryState } from "../common/ResourcePage";
import { InvalidateSessionsDialog } from "../iam/InvalidateSessionsDialog";
import { TokensCard } from "../iam/TokensCard";
import { ChangePasswordForm } from "./ChangePasswordForm";
import { MfaCard } from "./MfaCard";

export function AccountPage() {
  const me = useMe();
  const dialogs = useDialogs();
  const user = me.data;
  if (!user?.id) return <QueryState error={me.error} isPending={me.isPending} />;
  const self = { id: user.id, username: user.username };
  return (
    <>
      <PageSection>
        <Content component="small">My account</Content>
        <Content component="h1">{user.username}</Content>
      </PageSection>
      <PageSection>
        <Grid hasGutter>
          <GridItem lg={6}>
            <Card isFullHeight>
              <CardTitle component="h2">Password</CardTitle>
              <CardBody>
                <ChangePasswordForm />
              </CardBody>
            </Card>
          </GridItem>
          <GridItem lg={6}>
            <MfaCard />
            <Card className="pf-v6-u-mt-md">
              <CardTitle component="h2">Sessions</CardTitle>
              <CardBody>
                <Content component="p">
                  Signed in somewhere you no longer use? End your sessions in every other browser.
                </Content>
                <Button
                  variant="secondary"
                  onClick={() => dialogs.open((close) => <InvalidateSessionsDialog user={self} onClose={close} />)}
                >
                  Invalidate sessions
                </Button>
              </CardBody>
            </Card>
          </GridItem>
          <GridItem span={12}>
            <TokensCard user={self} self />
          </GridItem>
        </Grid>
      </PageSection>
    </>
  );
}
